"""The small interface every channel backend implements (anymail's backends and Oscar's communication hook are the
models): render a message from its kind's context, send it, and classify what went wrong."""

from __future__ import annotations

from dataclasses import dataclass

from ....exceptions import AddressRejected, PermanentChannelError, TransientChannelError  # noqa: F401 (the vocabulary)


@dataclass
class Rendered:
    """A rendered message: what the outbox row keeps (subject, text, html, link tokens blanked out) and the
    backend's own payload for send() (e.g. an EmailMultiAlternatives)."""

    subject: str
    text: str = ""
    html: str = ""
    payload: object = None


@dataclass
class Delivery:
    """What the provider said when it accepted a message."""

    provider: str = ""  # stored in Message.esp_name
    provider_id: str = ""  # Message.esp_message_id (what tracking webhooks match on)
    status: str = "sent"  # Message.esp_status


class ChannelBackend:
    """One way of reaching a person.

    The outbox calls, for a claimed batch: ``open()``; ``prepare(messages)`` once (per-batch extras such as
    unsubscribe links, {message id: extra}); for each message ``render(message, kind, context, extra)`` and then
    ``send(message, rendered)``; ``close()``.  ``send`` returns a :class:`Delivery` or raises
    TransientChannelError (retried with backoff), PermanentChannelError (failed) or AddressRejected (failed, and the
    address suppressed on :attr:`suppression_channel`).  Any other exception is a bug: it propagates, and the
    sweeper deals with the row."""

    key = ""
    #: The channel a rejected address is suppressed on (Suppression.channel).
    suppression_channel = ""

    def open(self):
        pass

    def close(self):
        pass

    def prepare(self, messages) -> dict:
        return {}

    def render(self, message, kind, context: dict, extra=None) -> Rendered:
        raise NotImplementedError

    def send(self, message, rendered: Rendered) -> Delivery:
        raise NotImplementedError

    def address_for(self, *, to_email: str, address: str = "") -> str:
        """The address this channel delivers to, given the person's email and what the caller passed."""
        return address or to_email
