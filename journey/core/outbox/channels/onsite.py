"""The on-site channel: a message shown to the returning shopper on their next storefront page (a small
dismissible banner), instead of a mail.

"Sending" makes it visible: the row becomes ``sent`` with its ``sent_at``, and the storefront's template tag
(:mod:`journey.core.onsite`) finds it by its ``address`` ("user:<id>" or "basket:<id>").  The content is rendered
at send time from the kind's context with ``<template>_onsite_subject.txt`` (the headline) and
``<template>_onsite.html`` (the banner's text, with its button to ``{{ action_url }}``); the kept copy is what is
shown.  The button leads to journey's ``onsite-go`` view, which checks the visitor, records the click and only
then issues the kind's live link (a restore link, say): no live link token is kept in the row."""

from __future__ import annotations

from django.template.loader import select_template
from django.urls import reverse

from .base import ChannelBackend, Delivery, Rendered

PROVIDER = "journey-onsite"


def user_address(user_id) -> str:
    return f"user:{user_id}"


def basket_address(basket_id) -> str:
    return f"basket:{basket_id}"


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
        from ... import onsite

        onsite.note_live_message()  # every storefront process looks for it from its next page on
        return Delivery(provider=PROVIDER, provider_id="", status="sent")
