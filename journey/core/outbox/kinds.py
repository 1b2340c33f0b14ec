"""Message kinds: what each tool sends through the outbox, registered by the tool (its mail module / connect())."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...exceptions import JourneyConfigurationError, NotEligible
from ..models import Message

__all__ = ["MessageKind", "NotEligible", "add_loader", "get_kind", "priority_of", "register_kind"]

#: The priority of a kind that names none (and of a message whose kind is not registered in this process).
DEFAULT_PRIORITY = 50


@dataclass(frozen=True)
class MessageKind:
    """A kind of message a tool sends.  Its contexts come from ``prepare_batch(messages)`` (a fixed number of
    queries for the whole batch: what makes sending fast) or, for a kind that has no batch builder,
    ``build_context(message)``; :meth:`context_for` builds one message's context either way.

    The context is channel-neutral: each channel backend renders it with its own templates (email:
    ``<template>_subject.txt``, ``_body.txt``, ``_body.html``; on-site: ``<template>_onsite.html``)."""

    key: str
    tool: str
    template: str  # prefix of each channel's templates
    # One message's template context (or raise NotEligible); optional when prepare_batch is given.
    build_context: Callable[[Message], dict] | None = None
    marketing: bool = True
    # False: a message the person asked for ("email me my basket"), never held out by a holdout (docs/measurement.md).
    measured: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)
    # Contexts for a whole batch at once, {message id: context dict or NotEligible}, with a fixed number of
    # queries for the batch (what makes sending fast).
    prepare_batch: Callable[[list[Message]], dict] | None = None
    # Optional: where an on-site message's button leads, issued when the shopper clicks it (a fresh link: no
    # live token is kept in the stored message).  Without it the button leads to the shop's home page.
    action_url: Callable[[Message], str] | None = None
    # Which message goes first when the frequency cap (journey.core.outbox.cap) has room for fewer messages than a
    # person is due: lower numbers first (1 = most important).  The shop overrides it per kind or per tool with
    # JOURNEY["MESSAGE_PRIORITIES"]; see priority_of().
    priority: int = DEFAULT_PRIORITY

    def __post_init__(self):
        if self.build_context is None and self.prepare_batch is None:
            raise JourneyConfigurationError(f"message kind {self.key!r} needs prepare_batch or build_context")

    def context_for(self, message: Message) -> dict:
        """``message``'s template context (raises NotEligible): its own builder, else the batch builder on it alone."""
        if self.build_context is not None:
            return self.build_context(message)
        context = self.prepare_batch([message])[message.pk]
        if isinstance(context, NotEligible):
            raise context
        return context


_KINDS: dict[str, MessageKind] = {}
#: Callables that import the modules registering kinds (the tools' mail modules); central wiring adds them.
_LOADERS: list[Callable[[], object]] = []


def register_kind(kind: MessageKind) -> MessageKind:
    _KINDS[kind.key] = kind
    return kind


def add_loader(loader: Callable[[], object]) -> None:
    """Register a callable run (once per unknown kind) to import the modules that register kinds."""
    if loader not in _LOADERS:
        _LOADERS.append(loader)


def registered_kinds() -> dict[str, MessageKind]:
    """Every message kind registered so far, by key (a copy)."""
    return dict(_KINDS)


def get_kind(key: str) -> MessageKind:
    if key not in _KINDS:
        _load_kinds()
    return _KINDS[key]


def _load_kinds():
    for loader in _LOADERS:
        loader()


def priority_of(key: str) -> int:
    """The frequency-cap priority of the message kind ``key`` (lower goes first): the shop's
    ``JOURNEY["MESSAGE_PRIORITIES"]`` entry for the kind, else for its tool, else the kind's own ``priority``."""
    from ...conf import journey_settings

    overrides = journey_settings.MESSAGE_PRIORITIES or {}
    if key in overrides:
        return int(overrides[key])
    try:
        kind = get_kind(key)
    except KeyError:
        return int(overrides.get(key.split(".", 1)[0], DEFAULT_PRIORITY))
    return int(overrides.get(kind.tool, kind.priority))
