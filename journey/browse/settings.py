"""Browse abandonment: this tool's ``JOURNEY`` keys, with their defaults (docs/browse.md).

Pure data: ``journey.conf`` reads it, before Django's apps are ready too.  What a store owner tunes day to day
(delays, thresholds, the channel, the mail) lives in the ``BrowseProgram`` row, edited in admin."""

DEFAULTS = {
    # Product views older than this many hours are not looked at by the scan (its window ends at the delay).
    "BROWSE_LOOKBACK_HOURS": 48,
    # At most this many viewed products in one browse reminder.
    "BROWSE_MAX_PRODUCTS": 4,
    # How many related products ("you may also like") a browse reminder adds.
    "BROWSE_RELATED_PRODUCTS": 4,
    # An order placed within this many days after a browse reminder was clicked counts as the reminder's.
    "BROWSE_ATTRIBUTION_DAYS": 7,
    # How long the links of a browse reminder work.
    "BROWSE_LINK_DAYS": 30,
}
