"""The suppression list: addresses that get no marketing mail (unsubscribed, bounced, complained, invalid)."""

from django.db import IntegrityError, transaction

from .. import signals
from .models import Suppression


def normalize(email: str) -> str:
    return (email or "").strip().lower()


def is_suppressed(email: str) -> bool:
    return Suppression.objects.filter(email=normalize(email)).exists()


def suppressed_among(emails) -> set[str]:
    return set(Suppression.objects.filter(email__in={normalize(e) for e in emails}).values_list("email", flat=True))


def suppress(email: str, reason: str, *, message=None, note="") -> Suppression:
    """Add ``email`` to the list (idempotent: the first reason is kept)."""
    email = normalize(email)
    try:
        with transaction.atomic():
            entry = Suppression.objects.create(email=email, reason=reason, message=message, note=note[:255])
    except IntegrityError:
        return Suppression.objects.get(email=email)
    # Nothing else is due to this address: cancel what is scheduled.
    from .outbox import cancel_pending_for_email

    cancel_pending_for_email(email, reason=f"suppressed: {reason}")
    signals.address_suppressed.send(sender=Suppression, suppression=entry)
    return entry
