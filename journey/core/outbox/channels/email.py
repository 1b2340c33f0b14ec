"""The email channel: subject / text / HTML templates, ``EmailMultiAlternatives`` through the project's
EMAIL_BACKEND (an anymail ESP in production), List-Unsubscribe headers, and anymail's errors classified."""

from __future__ import annotations

import smtplib
from datetime import timedelta

from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse

from ....conf import journey_settings
from ....exceptions import AddressRejected, PermanentChannelError, TransientChannelError
from ... import tokens
from ..links import absolute_url, describe, site_url
from .base import ChannelBackend, Delivery, Rendered


def from_email():
    from django.conf import settings

    return journey_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL


def unsubscribe_token(message) -> str:
    return tokens.issue("unsubscribe", object_id=message.pk, data={"email": message.to_email},
                        ttl=timedelta(days=journey_settings.UNSUBSCRIBE_TOKEN_DAYS), per_object=True)


def render_parts(template: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) of the mail templates ``<template>_subject.txt``, ``_body.txt``, ``_body.html``."""
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    return (subject, render_to_string(f"{template}_body.txt", context),
            render_to_string(f"{template}_body.html", context))


class EmailBackend(ChannelBackend):
    key = "email"
    suppression_channel = "email"

    def __init__(self, connection=None):
        self.connection = connection

    def open(self):
        if self.connection is None:
            self.connection = get_connection()
        self.connection.open()

    def close(self):
        if self.connection is not None:
            self.connection.close()

    def prepare(self, messages) -> dict:
        """One unsubscribe token per marketing mail that will go out: a retry gets the same link again."""
        marketing = [m for m in messages if m.marketing]
        return dict(zip(
            [m.pk for m in marketing],
            tokens.issue_many("unsubscribe", [(m.pk, {"email": m.to_email}) for m in marketing],
                              ttl=timedelta(days=journey_settings.UNSUBSCRIBE_TOKEN_DAYS), per_object=True),
            strict=True,
        ))

    def context(self, message, kind, context: dict, unsubscribe=None) -> tuple[dict, dict]:
        """The template context (with the unsubscribe link of a marketing mail) and the mail's headers."""
        context = {**context, "message": message, "site_url": site_url()}
        headers = {}
        if message.marketing:
            unsubscribe_url = absolute_url(reverse("journey:unsubscribe",
                                                   args=[unsubscribe or unsubscribe_token(message)]))
            context["unsubscribe_url"] = unsubscribe_url
            headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
            if unsubscribe_url.startswith("https://"):  # RFC 8058: one-click only with an https URI
                headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return context, headers

    def render(self, message, kind, context: dict, extra=None) -> Rendered:
        context, headers = self.context(message, kind, context, extra)
        template = context.get("mail_template") or kind.template  # a tool may pick the template per message
        subject, text, html = render_parts(template, context)
        email = self.build(subject, text, html, to=message.address or message.to_email, headers=headers)
        # django-anymail extras: what the ESP needs to tag, track and route events back to this row.
        email.tags = ["journey", message.tool, *kind.tags]
        email.metadata = {"journey_message_id": str(message.pk), "journey_tool": message.tool}
        email.track_clicks = True
        email.track_opens = True
        return Rendered(subject=subject, text=text, html=html, payload=email)

    def build(self, subject, text, html, *, to, headers=None) -> EmailMultiAlternatives:
        email = EmailMultiAlternatives(subject=subject, body=text, from_email=from_email(), to=[to],
                                       headers=headers or {})
        email.attach_alternative(html, "text/html")
        return email

    def send(self, message, rendered: Rendered) -> Delivery:
        email = rendered.payload
        email.connection = self.connection
        try:
            email.send()
        except (AnymailRecipientsRefused, AnymailInvalidAddress) as exc:
            raise AddressRejected("the ESP refused the address", describe(exc)) from exc
        except AnymailAPIError as exc:
            status = getattr(exc, "status_code", None)
            if status and 400 <= status < 500 and status not in (408, 429):
                raise PermanentChannelError(f"the ESP rejected the message (HTTP {status})", describe(exc)) from exc
            raise TransientChannelError(describe(exc)) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientChannelError(describe(exc)) from exc

        status = getattr(email, "anymail_status", None)
        to = email.to[0]
        recipient = status.recipients.get(to) if status and status.recipients else None
        if recipient is not None and recipient.status in ("rejected", "invalid"):
            raise AddressRejected(f"the ESP {recipient.status} the address", "")
        esp_id = recipient.message_id if recipient and recipient.message_id is not None else (
            status.message_id if status else None)
        return Delivery(provider=getattr(self.connection, "esp_name", "") or "",
                        provider_id="" if esp_id is None else str(esp_id)[:200],
                        status=(recipient.status if recipient else "sent") or "sent")
