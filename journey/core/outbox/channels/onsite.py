"""The on-site channel: a message shown to the returning shopper on their next storefront page (a small
dismissible banner), instead of a mail.

"Sending" makes it visible: the row becomes ``sent`` with its ``sent_at``, and the storefront's template tag
(:mod:`journey.core.onsite`) finds it by its ``address`` ("user:<id>" or "basket:<id>").  The content is rendered
at send time from the kind's context with ``<template>_onsite_subject.txt`` (the headline) and
``<template>_onsite.html`` (the banner's text, with its button to ``{{ action_url }}``); the kept copy is what is
shown.  The button leads to journey's ``onsite-go`` view, which checks the visitor, records the click and only
then issues the kind's live link (a restore link, say): no live link token is kept in the row."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.template.loader import select_template
from django.urls import reverse
from django.utils import timezone

from ....conf import journey_settings
from ... import suppression
from ...memo import ProcessMemo
from ...models import Message
from .base import ChannelBackend, Delivery, Rendered

PROVIDER = "journey-onsite"


def user_address(user_id) -> str:
    return f"user:{user_id}"


def basket_address(basket_id) -> str:
    return f"basket:{basket_id}"


_memo = ProcessMemo()
#: In the shared cache: when the newest on-site message was made visible (a POSIX timestamp; 0 = none is live).
LAST_SENT_KEY = "journey:onsite:last-sent"


def note_live_message(now=None):
    """A message was just made visible: every process looks visitors up from its next page on."""
    cache.set(LAST_SENT_KEY, (now or timezone.now()).timestamp(), None)
    _memo.clear()


def live_messages(now=None):
    """On-site messages showing now: sent, not dismissed, within ONSITE_MESSAGE_DAYS."""
    now = now or timezone.now()
    return Message.objects.filter(channel="onsite", state=Message.State.SENT, dismissed_at__isnull=True,
                                  sent_at__gte=now - timedelta(days=journey_settings.ONSITE_MESSAGE_DAYS))


def withdraw_live(email, *, now=None) -> int:
    """Stop showing the live on-site messages of this person (they were suppressed)."""
    return live_messages(now).filter(to_email=suppression.normalize(email), marketing=True).update(
        dismissed_at=now or timezone.now())


class OnsiteBackend(ChannelBackend):
    key = "onsite"
    suppression_channel = "onsite"

    def address_for(self, *, to_email: str, address: str = "") -> str:
        if not address.startswith(("user:", "basket:")):
            raise ValueError(f"an on-site message needs an address 'user:<id>' or 'basket:<id>', not {address!r}")
        return address

    def render(self, message, kind, context: dict, extra=None) -> Rendered:
        templates = [t for t in (context.get("mail_template"), kind.template) if t]
        if "action_url" not in context:  # (a preview passes its own)
            context = {**context, "action_url": reverse("journey:onsite-go", args=[message.pk])}
        context = {**context, "message": message}
        subject = " ".join(select_template([f"{t}_onsite_subject.txt" for t in templates]).render(context).split())
        html = select_template([f"{t}_onsite.html" for t in templates]).render(context).strip()
        return Rendered(subject=subject, text=subject, html=html)

    def send(self, message, rendered: Rendered) -> Delivery:
        note_live_message()  # every storefront process looks for it from its next page on
        return Delivery(provider=PROVIDER, provider_id="", status="sent")
