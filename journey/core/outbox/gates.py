"""Send gates: decisions taken at send time, for a whole claimed batch, before anything is rendered.

A gate is a callable ``gate(messages) -> {message id: Hold | Defer}`` registered by a tool (or the core) with an
order.  Gates run in that order on the batch's messages that are still going out (not suppressed, not held by an
earlier gate), with a fixed number of queries per batch, not per message.  A message a gate does not name goes on.

* :class:`Hold` closes the message in a state of its own (``held_out``: the person is in a tool's control group;
  ``capped``: the frequency cap dropped it) with the reason kept on the row, so every report can count it.
* :class:`Defer` puts it back on the schedule at a later time (the cap's "wait"), without counting an attempt.

A gate that raises holds nothing back (logged): a bug in a measurement or cap never stops the shop's mail.
Gates run after the suppression check and before rendering; where a gate needs a lock (a cap counted under
concurrent senders) it takes it itself, inside the transaction it opens."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from ..models import Message

logger = logging.getLogger("journey.core.outbox")
State = Message.State


@dataclass(frozen=True)
class Hold:
    """Close the message unsent, in ``state`` (e.g. ``Message.State.HELD_OUT``), with ``reason``."""

    state: str
    reason: str


@dataclass(frozen=True)
class Defer:
    """Put the message back on the schedule at ``until`` (no attempt counted), with ``reason`` in last_error."""

    until: datetime
    reason: str


Gate = Callable[[list[Message]], dict]
#: (order, key, gate), kept sorted by order then key.
_GATES: list[tuple[int, str, Gate]] = []


def register_gate(key: str, gate: Gate, *, order: int = 100) -> None:
    """Register (or replace) the gate ``key``.  Lower orders run first: a tool's control group (holdouts) before
    the cross-tool frequency cap, so a held-out person never uses up a slot of the cap."""
    _GATES[:] = [g for g in _GATES if g[1] != key]
    _GATES.append((order, key, gate))
    _GATES.sort(key=lambda g: (g[0], g[1]))


def unregister_gate(key: str) -> None:
    _GATES[:] = [g for g in _GATES if g[1] != key]


def registered_gates() -> list[str]:
    return [key for _order, key, _gate in _GATES]


def decide(messages: list[Message]) -> dict[int, Hold | Defer]:
    """Every gate's verdicts for ``messages`` (the first gate to name a message decides it)."""
    verdicts: dict[int, Hold | Defer] = {}
    for _order, key, gate in list(_GATES):
        remaining = [m for m in messages if m.pk not in verdicts]
        if not remaining:
            break
        try:
            decided = gate(remaining) or {}
        except Exception:
            logger.exception("journey: send gate %r failed; it holds nothing back in this batch", key)
            continue
        for pk, verdict in decided.items():
            if isinstance(verdict, Hold | Defer):
                verdicts.setdefault(pk, verdict)
    return verdicts


def apply(message: Message, verdict: Hold | Defer) -> bool:
    """Record ``verdict`` on a message still under this batch's claim; False if it was swept or cancelled meanwhile."""
    now = timezone.now()
    rows = Message.objects.filter(pk=message.pk, state=State.SENDING, esp_call_started_at__isnull=True)
    if isinstance(verdict, Hold):
        return bool(rows.update(state=verdict.state, closed_at=now, close_reason=verdict.reason[:200]))
    return bool(rows.update(state=State.SCHEDULED, due_at=verdict.until, claimed_at=None,
                            attempts=max(message.attempts - 1, 0), last_error=verdict.reason[:2000]))
