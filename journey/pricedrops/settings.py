"""Price-drop alerts: this tool's ``JOURNEY`` keys, with their defaults (docs/browse.md#price-drops).

Pure data: ``journey.conf`` reads it, before Django's apps are ready too."""

DEFAULTS = {
    # Alert when a product's price falls by at least this share (0.10 = 10 %) below the price recorded when the
    # customer put it in a basket or a wish list (or below the price of their last alert).
    "PRICE_DROP_MIN_SHARE": "0.10",
    # Send alerts at all (the watches are recorded either way).
    "PRICE_DROP_ALERTS": True,
    # At most this many products in one alert (the biggest drops first).
    "PRICE_DROP_MAX_PRODUCTS": 6,
    # An order placed within this many days after an alert was clicked counts as the alert's.
    "PRICE_DROP_ATTRIBUTION_DAYS": 7,
    # How long the links of an alert work.
    "PRICE_DROP_LINK_DAYS": 30,
}
