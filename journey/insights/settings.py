"""Insights: funnel, attribution, GA4 and the journey map: the ``JOURNEY`` keys of this tool,
with their defaults (docs/settings.md).

Pure data: ``journey.conf`` reads it, before Django's apps are ready too."""

DEFAULTS = {
    # Google Analytics 4: measurement id ("G-XXXXXXX"); rendered only with analytics consent.
    "GA4_MEASUREMENT_ID": None,
    # Measurement Protocol API secret: with it, purchases (and refunds) are also sent server-side, once per order.
    "GA4_API_SECRET": None,
    "GA4_MP_ENDPOINT": "https://www.google-analytics.com/mp/collect",
    # Push view_item, add_to_cart, remove_from_cart, begin_checkout and purchase automatically from Oscar's signals.
    "GA4_AUTO_EVENTS": True,
    # item_id: "upc" (Oscar's UPC, else the product id) or "pk".
    "GA4_ITEM_ID": "upc",
    # Code of a product attribute holding the brand (item_brand); None: no brand.
    "GA4_BRAND_ATTRIBUTE": None,
    # Order statuses that send a GA4 refund through the Measurement Protocol, e.g. ("Cancelled",).
    "GA4_REFUND_STATUSES": (),
    # A visit without a landing keeps the source/medium/campaign of the visitor's landing this many days before.
    "FUNNEL_LANDING_CARRY_DAYS": 30,
    # A day's funnel rollup is final when computed this long after the day ended (late events still count).
    "FUNNEL_FINAL_AFTER_MINUTES": 60,
    # Store days rolled up per statement by the insights_rollup job.
    "FUNNEL_ROLLUP_CHUNK_DAYS": 7,
    # A funnel step losing at least this percentage of the previous step's visits is flagged as a candidate brake.
    "FUNNEL_BRAKE_DROP_OFF": 70,
    # Attribution: touches (campaign link, mail click, related-list click…) count this many days before an order.
    "ATTRIBUTION_LOOKBACK_DAYS": 30,
    # The attribution model the journey map shows first: "last_touch" or "first_touch".
    "ATTRIBUTION_MODEL": "last_touch",
    # Holdout reports (docs/measurement.md): the gross margin on revenue (0–1) that turns incremental revenue into
    # incremental margin, weighed against the vouchers' cost; the lift in conversion (percentage points) the
    # "about N more people" verdict is sized for.
    "MEASUREMENT_MARGIN": "0.30",
    "MEASUREMENT_MIN_LIFT_POINTS": 2,
}
