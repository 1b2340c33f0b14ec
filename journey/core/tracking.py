"""ESP tracking events (anymail's ``tracking`` signal) applied to outbox messages: once per event, never downgrading.

Configure your ESP's webhook to anymail's tracking URL (docs/mail.md); anymail verifies and normalises the payload
and sends the signal; this receiver does the rest.
"""

import hashlib
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import suppression
from .models import Message, Suppression, TrackingEvent

logger = logging.getLogger(__name__)

# Timestamp field set by each event type (anymail's normalised event_type values).
TIMESTAMP_FIELD = {
    "delivered": "delivered_at",
    "opened": "opened_at",
    "clicked": "clicked_at",
    "bounced": "bounced_at",
    "complained": "complained_at",
    "unsubscribed": "unsubscribed_at",
}
# The status shown for a message is the highest-ranked event it has had: a bounce stays a bounce.
RANK = {"queued": 1, "sent": 2, "deferred": 2, "delivered": 3, "opened": 4, "clicked": 5,
        "unsubscribed": 6, "rejected": 7, "failed": 7, "bounced": 8, "complained": 9}
SUPPRESS = {"bounced": Suppression.Reason.HARD_BOUNCE, "complained": Suppression.Reason.COMPLAINT,
            "unsubscribed": Suppression.Reason.UNSUBSCRIBED}


def _event_id(event, esp_name):
    if event.event_id:
        return f"{esp_name}:{event.event_id}"[:200]
    raw = f"{esp_name}|{event.message_id}|{event.event_type}|{event.timestamp}|{event.recipient}"
    return "h:" + hashlib.sha256(raw.encode()).hexdigest()


# States of a message journey never handed to the ESP: no event can be about it.
NOT_HANDED_TO_ESP = (Message.State.SCHEDULED, Message.State.CANCELLED, Message.State.SUPPRESSED)


def _find_message(event):
    """The message journey sent that ``event`` is about, or None when it is not ours.

    The ESP's message id decides; the metadata journey attached (``journey_message_id``) only finds a message the
    ESP gave no id for.  An event naming another recipient than the message's is not ours either: a forged or
    mistaken payload must never suppress an address journey did not write to."""
    message = None
    if event.message_id:
        message = Message.objects.filter(esp_message_id=str(event.message_id)).first()
    if message is None:
        message_id = (event.metadata or {}).get("journey_message_id")
        if message_id and str(message_id).isdigit():
            message = Message.objects.filter(pk=int(message_id), esp_message_id="").exclude(
                state__in=NOT_HANDED_TO_ESP).first()
    if message is None:
        return None
    if event.recipient and suppression.normalize(event.recipient) != suppression.normalize(message.to_email):
        return None
    return message


def apply_event(event, esp_name="") -> bool:
    """Apply one normalised anymail tracking event.  Returns False if it was already applied or is not ours.

    The "already seen" row and the event's effects (status, timestamps, suppression, the journey event) commit
    together or not at all: if anything fails half-way, nothing is kept, the webhook answers 5xx and the ESP's retry
    is applied in full, once."""
    message = _find_message(event)
    if message is None:
        return False
    when = event.timestamp or timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                TrackingEvent.objects.create(
                    event_id=_event_id(event, esp_name), message=message, event_type=event.event_type,
                    recipient=event.recipient or "", timestamp=when, esp_name=esp_name,
                    description=(event.description or event.mta_response or "")[:255],
                )
        except IntegrityError:
            return False  # the same event delivered again
        fields = {}
        field = TIMESTAMP_FIELD.get(event.event_type)
        if field and getattr(message, field) is None:
            fields[field] = when
        if RANK.get(event.event_type, 0) > RANK.get(message.esp_status, 0):
            fields["esp_status"] = event.event_type
        if fields:
            Message.objects.filter(pk=message.pk).update(**fields)
        if field in ("opened_at", "clicked_at") and field in fields:  # the first open / click: a journey event
            from .capture import mail_tracked

            mail_tracked(message, event.event_type, when)
        reason = SUPPRESS.get(event.event_type)
        if reason and not (event.event_type == "bounced" and _is_soft_bounce(event)):
            # The message's own recipient, never an address named only in the payload (_find_message checked both).
            suppression.suppress(message.to_email, reason, message=message, note=f"{esp_name} {event.event_type}")
    return True


# What ESPs call a soft (transient) bounce in their own payload, which anymail normalises to "bounced" for Postmark
# ("Type": "SoftBounce" / "Transient"), Brevo and Mandrill ("event": "soft_bounce"), MailerSend ("type":
# "activity.soft_bounced") and Amazon SES ("bounceType": "Transient").
SOFT_BOUNCE_WORDS = {"softbounce", "softbounced", "transient"}


def _is_soft_bounce(event):
    # anymail reports most soft bounces as "deferred"; a "bounced" with a 4xx MTA response is transient too, and so
    # is one the ESP's own payload calls soft.
    response = (event.mta_response or "").strip()
    if response[:1] == "4":
        return True
    raw = event.esp_event
    if not isinstance(raw, dict):
        return False
    for key in ("Type", "event", "type", "bounceType"):
        value = raw.get(key)
        if isinstance(value, str):
            word = value.rsplit(".", 1)[-1].replace("_", "").replace(" ", "").lower()
            if word in SOFT_BOUNCE_WORDS:
                return True
    return False


def on_tracking(sender, event, esp_name, **kwargs):
    """Receiver of ``anymail.signals.tracking``.  Errors propagate: the ESP then retries the webhook later, and
    applying an event twice is harmless."""
    apply_event(event, esp_name)
