"""Abandoned-basket recovery: the ``JOURNEY`` keys of this tool,
with their defaults (docs/settings.md).

Pure data: ``journey.conf`` reads it, before Django's apps are ready too."""

DEFAULTS = {
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
    # Incentive guard (docs/recovery.md): a step's discount is left out (the mail still goes, without a voucher) for
    # someone who received or redeemed any journey incentive in the last this many days (0 or None: off)...
    "RECOVERY_INCENTIVE_GUARD_DAYS": 30,
    # ...or who already redeemed this many recovery vouchers (abandoning on purpose to get one; 0 or None: off).
    "RECOVERY_INCENTIVE_GUARD_REDEMPTIONS": 2,
    # Bad restore links from one client before it gets HTTP 429, per window (seconds).
    "RESTORE_RATE_LIMIT": (20, 600),
}
