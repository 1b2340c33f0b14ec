"""Channel backends of the outbox: a message's ``channel`` names one of them.

Built in: ``email`` (django-anymail, :mod:`.email`) and ``onsite`` (a banner on the shopper's next page view,
:mod:`.onsite`).  A host project may add one with :func:`register_channel` (e.g. SMS); an unknown channel is a
configuration error (:class:`journey.exceptions.UnknownChannel`)."""

from __future__ import annotations

from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from ....exceptions import UnknownChannel
from .base import ChannelBackend, Delivery, Rendered

EMAIL = "email"
ONSITE = "onsite"

#: key → (label, dotted path of the backend class)
_CHANNELS: dict[str, tuple] = {
    EMAIL: (_("Email"), "journey.core.outbox.channels.email.EmailBackend"),
    ONSITE: (_("On-site message"), "journey.core.outbox.channels.onsite.OnsiteBackend"),
}

CHOICES = [(EMAIL, _("Email")), (ONSITE, _("On-site message"))]

__all__ = ["CHOICES", "EMAIL", "ONSITE", "ChannelBackend", "Delivery", "Rendered", "backend_class", "check_channel",
           "get_backend", "keys", "register_channel"]


def register_channel(key: str, label, backend_path: str):
    """Add (or replace) a channel backend."""
    _CHANNELS[key] = (label, backend_path)


def keys() -> list[str]:
    return list(_CHANNELS)


def check_channel(key: str) -> str:
    """``key`` if a backend is registered for it, else UnknownChannel (a clear configuration error)."""
    if key not in _CHANNELS:
        raise UnknownChannel(f"journey has no channel {key!r}; known channels: {', '.join(sorted(_CHANNELS))}")
    return key


def backend_class(key: str) -> type[ChannelBackend]:
    return import_string(_CHANNELS[check_channel(key)][1])


def get_backend(key: str) -> ChannelBackend:
    """A new backend instance for one batch (backends may hold a connection between open() and close())."""
    return backend_class(key)()
