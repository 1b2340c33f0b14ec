"""Customer profile, birthdays, post-purchase and win-back: the ``JOURNEY`` keys of this tool,
with their defaults (docs/settings.md).

Pure data: ``journey.conf`` reads it, before Django's apps are ready too."""

DEFAULTS = {
    # The consent question on the profile page (stored with each answer); None: journey's translated default.
    "CONSENT_WORDING": None,
    # A birthday entered or changed less than this many days before the date waits until next year.
    "BIRTHDAY_CHANGE_WAIT_DAYS": 30,
    # A birthday job that did not run for a while catches up on at most this many past days.
    "BIRTHDAY_CATCH_UP_DAYS": 7,
    # Hour (store time zone) at which birthday mails are due on their day.
    "BIRTHDAY_SEND_HOUR": 9,
}
