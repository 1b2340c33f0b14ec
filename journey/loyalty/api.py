"""What other tools may ask loyalty (the only module of ``journey.loyalty`` they import)."""

from .profiles.consent import marketing_allowed
from .profiles.models import CustomerProfile


def marketing_allowed_users(user_ids) -> set:
    """Of the given accounts, those who may get marketing messages under ``JOURNEY["CONSENT_POLICY"]`` (their
    customer profile's consent: withdrawn never, ``"consent"`` only a recorded opt-in).  One query."""
    ids = {pk for pk in user_ids if pk}
    if not ids:
        return set()
    profiles = {p.user_id: p for p in CustomerProfile.objects.filter(user_id__in=ids)}
    return {pk for pk in ids if marketing_allowed(profiles.get(pk))}


def languages_for(user_ids) -> dict:
    """The preferred language of each given account that has one (``{user id: "es"}``).  One query."""
    ids = {pk for pk in user_ids if pk}
    if not ids:
        return {}
    return dict(CustomerProfile.objects.filter(user_id__in=ids).exclude(language="")
                .values_list("user_id", "language"))
