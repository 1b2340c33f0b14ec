"""The ``JOURNEY`` settings dict: documented defaults, read at call time.

Use ``from journey.conf import journey_settings`` and read attributes
(``journey_settings.SITE_URL``) where they are needed — never copy one into a
module-level constant, or ``override_settings(JOURNEY=...)`` stops working.
Every key is documented in docs/settings.md.
"""

from django.conf import settings
from django.core.signals import setting_changed

from .exceptions import JourneyConfigurationError

DEFAULTS = {
    # Absolute base URL of the storefront, used for links in mails ("https://shop.example.com").
    "SITE_URL": None,
    # From address for journey's mails; None means DEFAULT_FROM_EMAIL.
    "FROM_EMAIL": None,
    # The store's time zone for anything "daily" (birthdays, quiet hours, reports); None means TIME_ZONE.
    "STORE_TIME_ZONE": None,
    # Registry keys of tools the shop turned off (they stay on the map, marked "off").
    "DISABLED_TOOLS": (),
    # Dotted paths of extra Tool objects (or callables returning one) a host shop registers.
    "EXTRA_TOOLS": (),
    # Per-job overrides of the run interval, in seconds: {"heartbeat": 120}.
    "JOB_INTERVALS": {},
    # How long a claimed job may run before another runner may take it over (seconds).
    "JOB_LEASE_SECONDS": 15 * 60,
    # A job whose last successful run is older than this many intervals is reported as "not running".
    "JOB_STALE_AFTER_INTERVALS": 3,
    # Outbox ------------------------------------------------------------------------------------------------
    # Messages claimed and sent per batch (one Celery task per batch).
    "SEND_BATCH_SIZE": 100,
    # How long one run of the send job may keep claiming batches (seconds).
    "SEND_JOB_SECONDS": 30,
    # Transient ESP failures are retried this many times in all, with exponential backoff from the base delay.
    "SEND_MAX_ATTEMPTS": 5,
    "SEND_RETRY_BASE_SECONDS": 60,
    # A message left "sending" longer than this was abandoned by a dead worker or a lost task: the sweeper acts.
    "SEND_STALE_AFTER_SECONDS": 300,
    # How long the unsubscribe link in a mail works.
    "UNSUBSCRIBE_TOKEN_DAYS": 365,
    # Consent policy for marketing mail: "notice" (any captured email, with a notice at capture and an
    # unsubscribe link in every mail) or "consent" (only addresses with an explicit opt-in).
    "CONSENT_POLICY": "notice",
    # Abandoned-basket recovery -----------------------------------------------------------------------------
    # A basket with no activity for this many minutes counts as abandoned.
    "RECOVERY_ABANDON_AFTER_MINUTES": 60,
    # Only baskets worth at least this much (Decimal, basket currency) are chased.
    "RECOVERY_MIN_BASKET_TOTAL": "0.00",
    # The same customer is not chased again within this many days of a sequence starting.
    "RECOVERY_COOLDOWN_DAYS": 7,
    # An order placed within this many days after a recovery mail was clicked counts as recovered.
    "RECOVERY_ATTRIBUTION_DAYS": 7,
    # How long the "return to my basket" link works.
    "RECOVERY_LINK_DAYS": 30,
    # Optional quiet hours in the store time zone, e.g. (21, 8): nothing is sent from 21:00 to 08:00.
    "RECOVERY_QUIET_HOURS": None,
    # Bad restore links from one client before it gets HTTP 429, per window (seconds).
    "RESTORE_RATE_LIMIT": (20, 600),
    # Related products -----------------------------------------------------------------------------------------
    # Only orders of the last N days train the lists (None: all of them).
    "RELATED_WINDOW_DAYS": 365,
    # Recency weighting: an order this many days older than the newest counts half (None: no decay; on the
    # Complete Journey data any half-life lowered the hit rate, see bench/related_quality.py).
    "RELATED_HALF_LIFE_DAYS": None,
    # A pair needs at least this many orders together to be listed (one odd order does not make a pair).
    "RELATED_MIN_SUPPORT": 2,
    # Length of each stored list.
    "RELATED_LIST_SIZE": 10,
    # Leave out products a signed-in customer already bought.
    "RELATED_EXCLUDE_PURCHASED": False,
    # Seconds a list's products (with their stock records) stay in the cache; 0 reads the database every time.
    "RELATED_CACHE_SECONDS": 300,
    # Hour (store time zone) of the nightly rebuild; the job runs once a day, at or after this hour.
    "RELATED_REBUILD_HOUR": 3,
    # A build still "building" after this many minutes was killed (its process died): the next rebuild deletes it.
    "RELATED_ABANDONED_AFTER_MINUTES": 360,
    # Customer profile and birthdays ---------------------------------------------------------------------------
    # The consent question on the profile page (stored with each answer); None: journey's translated default.
    "CONSENT_WORDING": None,
    # A birthday entered or changed less than this many days before the date waits until next year.
    "BIRTHDAY_CHANGE_WAIT_DAYS": 30,
    # A birthday job that did not run for a while catches up on at most this many past days.
    "BIRTHDAY_CATCH_UP_DAYS": 7,
    # Hour (store time zone) at which birthday mails are due on their day.
    "BIRTHDAY_SEND_HOUR": 9,
    # Codes, personal vouchers, quantity promotions -------------------------------------------------------------
    # Refused discount codes from one client before the code form answers HTTP 429, per window (seconds).
    "CODE_RATE_LIMIT": (10, 600),
    # Give every single-use voucher (not only journey's personal ones) a unique redemption row at order
    # placement, so no single-use code is redeemed twice under concurrency (django-oscar #4580).
    "GUARD_SINGLE_USE_VOUCHERS": True,
    # Seconds a process keeps the live quantity promotions (tiers and range members) for the upsell hints;
    # saving a promotion refreshes them at once, changes to an Oscar range show within this time.
    "QUANTITY_HINT_CACHE_SECONDS": 300,
    # Campaign discounts ---------------------------------------------------------------------------------------
    # Landings on campaign links recorded per client and window (seconds); beyond it the link only redirects.
    "CAMPAIGN_LINK_RATE_LIMIT": (30, 600),
    # Post-purchase and win-back (Retain) ---------------------------------------------------------------------
    # Order statuses (the shop's own names, compared case-insensitively) meaning the order was cancelled or
    # refunded: its post-purchase mail is cancelled, and it counts neither as an order nor as revenue.
    "ORDER_CANCELLED_STATUSES": ("Cancelled", "Canceled", "Refunded"),
    # First-party events, consent and tracking (docs/privacy-and-tracking.md) ---------------------------------
    # Record journey events (product views, basket, checkout, orders, mails, vouchers, landings…).
    "EVENTS_ENABLED": True,
    # Record requests from bots and crawlers too (flagged with device "bot"); by default they are ignored.
    "EVENTS_RECORD_BOTS": False,
    # Visitor id of a shopper who has not allowed analytics cookies: "daily" (a keyed digest of day, address and
    # browser; no cookie), "session" (a digest of the session key, when there is a session) or "none".
    "EVENTS_ANONYMOUS_VISITOR": "daily",
    # Header holding the client address behind a proxy (e.g. "HTTP_X_FORWARDED_FOR"); None: REMOTE_ADDR.  Used by
    # events, consent records and every throttle (journey.core.events.client_ip).
    "CLIENT_IP_HEADER": None,
    # How many proxies of the shop append to that header: the entry this far from the right is the client's (the
    # ones left of it are sent by the client and could be forged).
    "CLIENT_IP_PROXY_COUNT": 1,
    # The first-party visitor cookie, set only with analytics consent.
    "VISITOR_COOKIE_NAME": "journey_vid",
    "VISITOR_COOKIE_DAYS": 395,
    # A visit ends after this many minutes without an event (landings are counted once per visit and source).
    "VISIT_MINUTES": 30,
    # Path prefixes never counted as landings (admin, dashboard, journey's own links and beacons).
    "LANDING_IGNORE_PATHS": ("/admin/", "/dashboard/", "/journey/", "/accounts/logout/"),
    # Pages whose address is a secret (a token or hash in the path): URL names ("namespace:name") or regular
    # expressions on the path starting with "^".  journey stores no path of them, loads no GA4 / Hotjar / chat on
    # them and sends them with "Referrer-Policy: no-referrer" (docs/privacy-and-tracking.md).
    "SECRET_URLS": ("password-reset-confirm", "customer:anon-order", "customer:anon-order-form",
                    "journey:restore-basket", "journey:unsubscribe", r"^/(?:.*/)?password-reset/confirm/",
                    r"^/(?:.*/)?order-status(?:-form)?/"),
    # Other host names of this shop (a referrer from them is not external).
    "OWN_HOSTS": (),
    # Consent banner: shown by {% journey_consent_banner %} until the visitor chooses.
    "CONSENT_BANNER": True,
    "CONSENT_COOKIE_NAME": "journey_consent",
    "CONSENT_COOKIE_DAYS": 180,
    # Change it when the banner's wording or the tools behind a category change: everyone is asked again.
    "CONSENT_VERSION": "1",
    # URL of the shop's privacy / cookie policy, linked from the banner (None: no link).
    "PRIVACY_POLICY_URL": None,
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
    # Hotjar site id (analytics consent) and a chat widget: "crisp" (website id) or "tawk" ("property/widget").
    "HOTJAR_SITE_ID": None,
    "CHAT_PROVIDER": None,
    "CHAT_ID": None,
    # Consent category the chat widget waits for: "marketing" (default), "analytics" or "necessary".
    "CHAT_CONSENT_CATEGORY": "marketing",
    # Privacy: events, sent mails and consent records older than this many days are deleted by a daily job.
    "EVENT_RETENTION_DAYS": 395,
    "MESSAGE_RETENTION_DAYS": 730,
    "CONSENT_RETENTION_DAYS": 3 * 365,
    # Rows deleted per statement by the retention job.
    "RETENTION_BATCH_SIZE": 5000,
    # Fill the slots that order history cannot fill with similar products of the same category (title words, price)
    # before the category's best sellers; False: the category's best sellers only.
    "RELATED_SIMILAR_PRODUCTS": True,
    # Insights: funnel, attribution, journey map ---------------------------------------------------------------
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
    # Seconds a process keeps a few small cached values (the live related-products build, the version of the live
    # quantity promotions) instead of asking the shared cache on every page; 0: ask every time.
    "PROCESS_CACHE_SECONDS": 5,
}


class JourneySettings:
    """Attribute access to ``settings.JOURNEY`` merged over ``DEFAULTS``, at call time."""

    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown journey setting {name!r}; see docs/settings.md")
        user = getattr(settings, "JOURNEY", None) or {}
        if not isinstance(user, dict):
            raise JourneyConfigurationError("settings.JOURNEY must be a dict.")
        return user.get(name, DEFAULTS[name])

    def unknown_keys(self):
        """Keys in settings.JOURNEY that journey does not know (typos), for the system check."""
        user = getattr(settings, "JOURNEY", None) or {}
        return sorted(set(user) - set(DEFAULTS)) if isinstance(user, dict) else []


journey_settings = JourneySettings()


def _reset_caches(*, setting, **kwargs):
    if setting in ("JOURNEY", "TIME_ZONE"):
        from . import registry

        registry.registry.reset_extra()


setting_changed.connect(_reset_caches)
