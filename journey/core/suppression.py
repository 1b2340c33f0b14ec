"""The suppression list: people who get no marketing messages, on one channel or on all of them.

Keyed on the person's email (``Message.to_email``) whatever the channel.  Which channel an entry covers follows
from why it was added (:data:`CHANNEL_OF_REASON`): a hard bounce or an invalid address says nothing about the
on-site banner, so it suppresses email only; "don't show me these again" on the banner suppresses the on-site
channel only; an unsubscribe, a spam complaint or staff suppress every channel (``channel=""``)."""

from django.db import IntegrityError, transaction
from django.db.models import Q

from .. import signals
from .models import Suppression

EMAIL = "email"
ONSITE = "onsite"
ALL_CHANNELS = ""

#: The channel an entry added for this reason covers ("" = all).
CHANNEL_OF_REASON = {
    Suppression.Reason.HARD_BOUNCE: EMAIL,
    Suppression.Reason.INVALID: EMAIL,
    Suppression.Reason.DISMISSED: ONSITE,
}


def normalize(email: str) -> str:
    return (email or "").strip().lower()


def _covering(channel):
    return Q(channel=ALL_CHANNELS) | Q(channel=channel) if channel else Q()


def is_suppressed(email: str, channel: str = EMAIL) -> bool:
    """Whether ``email`` gets no marketing on ``channel`` (email unless said)."""
    return Suppression.objects.filter(_covering(channel), email=normalize(email)).exists()


def suppressed_among(emails, channel: str = EMAIL) -> set[str]:
    """The emails among ``emails`` that get no marketing on ``channel``."""
    return set(Suppression.objects.filter(_covering(channel), email__in={normalize(e) for e in emails})
               .values_list("email", flat=True))


def suppressed_messages(messages) -> set[int]:
    """The ids of ``messages`` whose person is suppressed on the message's channel (one query)."""
    messages = list(messages)
    if not messages:
        return set()
    entries = set(Suppression.objects.filter(email__in={m.to_email for m in messages})
                  .values_list("email", "channel"))
    return {m.pk for m in messages
            if (m.to_email, ALL_CHANNELS) in entries or (m.to_email, m.channel) in entries}


def suppress(email: str, reason: str, *, message=None, note="", channel=None) -> Suppression:
    """Add ``email`` to the list on ``channel`` (by default the reason's, see CHANNEL_OF_REASON).  Idempotent: an
    entry that already covers that channel is kept with its first reason."""
    email = normalize(email)
    channel = CHANNEL_OF_REASON.get(reason, ALL_CHANNELS) if channel is None else channel
    existing = Suppression.objects.filter(_covering(channel) if channel else Q(channel=ALL_CHANNELS),
                                          email=email).order_by("channel").first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            entry = Suppression.objects.create(email=email, channel=channel, reason=reason, message=message,
                                               note=note[:255])
    except IntegrityError:
        return Suppression.objects.get(email=email, channel=channel)
    # Nothing else is due to this person on that channel: the outbox cancels what is scheduled (its receiver of
    # this signal, connected first by journey.core.receivers).
    signals.address_suppressed.send(sender=Suppression, suppression=entry)
    return entry
