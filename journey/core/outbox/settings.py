"""The outbox's own JOURNEY keys (to be merged into journey.conf's DEFAULTS by the central wiring), read at call
time."""

from django.conf import settings

DEFAULTS = {
    # An on-site message is shown for this many days after it was sent (then it lapses, unseen or not).
    "ONSITE_MESSAGE_DAYS": 7,
}


def setting(name):
    user = getattr(settings, "JOURNEY", None) or {}
    return user.get(name, DEFAULTS[name])
