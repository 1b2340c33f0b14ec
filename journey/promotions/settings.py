"""Campaign discounts, codes and quantity promotions: the ``JOURNEY`` keys of this tool,
with their defaults (docs/settings.md).

Pure data: ``journey.conf`` reads it, before Django's apps are ready too."""

DEFAULTS = {
    # Refused discount codes from one client before the code form answers HTTP 429, per window (seconds).
    "CODE_RATE_LIMIT": (10, 600),
    # Seconds a process keeps the live quantity promotions (tiers and range members) for the upsell hints;
    # saving a promotion refreshes them at once, changes to an Oscar range show within this time.
    "QUANTITY_HINT_CACHE_SECONDS": 300,
    # Landings on campaign links recorded per client and window (seconds); beyond it the link only redirects.
    "CAMPAIGN_LINK_RATE_LIMIT": (30, 600),
}
