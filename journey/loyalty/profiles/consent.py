"""May journey send a customer marketing mail?  One answer for every Retain program."""

from ...conf import journey_settings
from .models import CustomerProfile


def marketing_allowed(profile: CustomerProfile | None) -> bool:
    """Withdrawn consent always stops marketing mail; with ``CONSENT_POLICY = "consent"`` only a recorded opt-in
    allows it; with ``"notice"`` (the default) a customer who never said no may get it (with an unsubscribe link)."""
    state = profile.marketing_consent if profile is not None else CustomerProfile.Consent.UNKNOWN
    if state == CustomerProfile.Consent.WITHDRAWN:
        return False
    if journey_settings.CONSENT_POLICY == "consent":
        return state == CustomerProfile.Consent.GRANTED
    return True
