"""The frequency cap: at most N marketing messages per person in any rolling window, across every tool.

A send gate (:mod:`.gates`, order 50, after the tools' control groups) registered by the core.  It decides once,
at send time, for a whole claimed batch:

* **Who is a person.** A message belongs to its address (``to_email``, stored normalized) and, when it has one, to
  its customer account (``user``): a slot taken by either counts for both.
* **What takes a slot.** A marketing message on a capped channel (``FREQUENCY_CAP["channels"]``, email by default)
  that was sent in the window, or that the cap let through and is being sent (``cap_slot_at``, the mark concurrent
  senders count).  Transactional messages (``marketing=False``) are never counted nor capped.
* **Who goes first.** Each message kind has a priority (:func:`.kinds.priority_of`, lower first: recovery 10,
  post-purchase 40, birthday 50, win-back 60; the shop overrides them in ``JOURNEY["MESSAGE_PRIORITIES"]``).  In a
  batch, a person's messages are taken in priority order.  A message also yields to a more important message of
  the same person that is already due (or claimed by another sender and not yet through the cap): that one is
  counted as if sent now.
* **What happens to a message that does not fit.** It waits (:class:`.gates.Defer`) until enough of the window's
  slots age out — counted from the oldest — and is tried again then, in the same way.  A message that would wait
  longer than ``max_wait_hours`` in all (from the first time the cap held it back) is dropped instead
  (:class:`.gates.Hold`, state ``capped``): every report counts it as "held back by the frequency cap".

Concurrency (PostgreSQL): the gate takes a transaction-scoped advisory lock per person key (address, account), in
sorted order so two senders never deadlock, then — in a second statement, so it sees everything committed by the
sender it waited for — counts the slots and marks every candidate as taking one; the candidates that did not fit
lose the mark again before the transaction commits.  A sender waiting on the lock therefore counts every slot the
first one gave: never more than N in any window.  Cost: two statements per batch whatever its size (three when
someone in the batch is held back), none when the cap is off or the batch has no capped message.  On SQLite the
same code runs without the lock: SQLite serialises writers, and concurrency is only promised on PostgreSQL."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ...conf import journey_settings
from ...exceptions import JourneyConfigurationError
from ..models import Message
from . import gates
from .kinds import priority_of

State = Message.State
GATE_KEY = "frequency_cap"
GATE_ORDER = 50
#: close_reason of a message the cap dropped (the prefix reports may look for).
DROPPED_REASON = "frequency cap"


@dataclass(frozen=True)
class Cap:
    messages: int
    window: timedelta
    max_wait: timedelta
    channels: tuple[str, ...]


def current_cap() -> Cap | None:
    """The configured cap (``JOURNEY["FREQUENCY_CAP"]``), or None when it is off."""
    raw = journey_settings.FREQUENCY_CAP
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise JourneyConfigurationError('JOURNEY["FREQUENCY_CAP"] must be a dict like {"messages": 2, "hours": 24}.')
    try:
        messages = int(raw.get("messages") or 0)
        hours = float(raw.get("hours", 24))
        max_wait = float(raw.get("max_wait_hours", hours))
    except (TypeError, ValueError) as exc:
        raise JourneyConfigurationError(f'JOURNEY["FREQUENCY_CAP"]: {exc}') from exc
    if messages <= 0:
        return None
    if hours <= 0 or max_wait < 0:
        raise JourneyConfigurationError('JOURNEY["FREQUENCY_CAP"]: "hours" must be above 0 and "max_wait_hours" '
                                        "at least 0.")
    channels = raw.get("channels", ("email",))
    if isinstance(channels, str):
        channels = (channels,)
    return Cap(messages, timedelta(hours=hours), timedelta(hours=max_wait), tuple(channels))


def _keys(email, user_id) -> list[tuple[str, object]]:
    keys = [("e", email)] if email else []
    if user_id:
        keys.append(("u", user_id))
    return keys


def _lock_id(key) -> int:
    """A signed 64-bit advisory lock id for a person key (namespaced, so it meets no other lock of the shop)."""
    digest = hashlib.blake2b(f"journey-cap:{key[0]}:{key[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def cap_gate(messages: list[Message]) -> dict[int, gates.Hold | gates.Defer]:
    """The send gate: verdicts for the batch's capped messages that do not fit (see the module docstring)."""
    cap = current_cap()
    if cap is None:
        return {}
    candidates = [m for m in messages if m.marketing and m.channel in cap.channels and _keys(m.to_email, m.user_id)]
    if not candidates:
        return {}
    with transaction.atomic():
        others, now = _lock_mark_and_read(candidates, cap)
        verdicts = _decide(candidates, others, cap, now)
        if verdicts:
            # Not going out now: they give their slot back before anyone else can count it, and remember since
            # when they have been waiting (their maximum wait counts from there).
            Message.objects.filter(pk__in=list(verdicts)).update(
                cap_slot_at=None, cap_waiting_since=Coalesce("cap_waiting_since", Value(now)))
    return verdicts


def _lock_mark_and_read(candidates, cap) -> tuple[list[dict], datetime]:
    """Take the person locks, mark every candidate as taking a slot, and read what else the people have in the
    window (slots taken, messages due or in flight); on PostgreSQL two statements.  Returns the rows and the time
    of the decision (read once the locks are held: no slot another sender gave is later than it)."""
    emails = sorted({m.to_email for m in candidates if m.to_email})
    users = sorted({m.user_id for m in candidates if m.user_id})
    ids = [m.pk for m in candidates]
    if connection.vendor == "postgresql":
        locks = sorted({_lock_id(k) for m in candidates for k in _keys(m.to_email, m.user_id)})
        table = Message._meta.db_table
        with connection.cursor() as cursor:
            # Sorted: two senders wanting the same people take their locks in the same order (no deadlock).
            cursor.execute("SELECT count(*) FROM (SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k "
                           "ORDER BY k) AS locked", [locks])
            now = timezone.now()
            start = now - cap.window
            # A new statement, so a new snapshot: it sees every mark committed by a sender we waited for.
            cursor.execute(
                f"WITH mark AS (UPDATE {table} SET cap_slot_at = %s WHERE id = ANY(%s) RETURNING id) "  # noqa: S608
                f"SELECT id, kind, state, to_email, user_id, sent_at, cap_slot_at FROM {table} "
                "WHERE marketing AND channel = ANY(%s) AND NOT (id = ANY(%s)) "
                "AND (to_email = ANY(%s) OR user_id = ANY(%s)) "
                "AND ((state = 'sent' AND sent_at > %s) OR state = 'sending' "
                "OR (state = 'scheduled' AND due_at <= %s))",
                [now, ids, list(cap.channels), ids, emails, users, start, now],
            )
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()], now
    now = timezone.now()
    start = now - cap.window
    person = Q(to_email__in=emails) | Q(user_id__in=users)
    window = (Q(state=State.SENT, sent_at__gt=start) | Q(state=State.SENDING)
              | Q(state=State.SCHEDULED, due_at__lte=now))
    rows = list(Message.objects.filter(person, window, marketing=True, channel__in=cap.channels)
                .exclude(pk__in=ids).values("id", "kind", "state", "to_email", "user_id", "sent_at", "cap_slot_at"))
    Message.objects.filter(pk__in=ids).update(cap_slot_at=now)
    return rows, now


def _decide(candidates, others, cap, now) -> dict[int, gates.Hold | gates.Defer]:
    start = now - cap.window  # the window is (start, now]: a slot taken exactly one window ago is free again
    slots = defaultdict(dict)  # person key -> {message id: when its slot was taken}
    waiting = defaultdict(dict)  # person key -> {message id: priority} of messages due or in flight, not through
    for row in others:
        keys = _keys(row["to_email"], row["user_id"])
        if row["state"] == State.SENT:
            taken = min(row["sent_at"], now)  # (a mail sent while this decision was being read: "now")
        elif row["state"] == State.SENDING and row["cap_slot_at"] and row["cap_slot_at"] > start:
            taken = min(row["cap_slot_at"], now)
        else:
            taken = None
        for key in keys:
            if taken is not None:
                slots[key][row["id"]] = taken
            else:
                waiting[key][row["id"]] = priority_of(row["kind"])
    verdicts = {}
    priorities = {m.pk: priority_of(m.kind) for m in candidates}
    for message in sorted(candidates, key=lambda m: (priorities[m.pk], m.due_at, m.pk)):
        keys = _keys(message.to_email, message.user_id)
        taken: dict[int, datetime] = {}
        ahead: set[int] = set()
        for key in keys:
            taken.update(slots[key])
            ahead |= {pk for pk, priority in waiting[key].items() if priority < priorities[message.pk]}
        if len(taken) + len(ahead) < cap.messages:
            for key in keys:
                slots[key][message.pk] = now
            continue
        # Enough slots must age out for this one to fit: the messages ahead count as sent now.
        times = sorted(list(taken.values()) + [now] * len(ahead))
        until = max(times[len(times) - cap.messages] + cap.window, now + timedelta(seconds=1))
        waiting_since = message.cap_waiting_since or now
        if until - waiting_since > cap.max_wait:
            verdicts[message.pk] = gates.Hold(
                State.CAPPED, f"{DROPPED_REASON}: {cap.messages} marketing messages in "
                              f"{cap.window.total_seconds() / 3600:g} h already; waited the maximum")
        else:
            verdicts[message.pk] = gates.Defer(
                until, f"{DROPPED_REASON}: waiting for room until {until.isoformat(timespec='seconds')}")
    return verdicts


def register() -> None:
    """Register the cap as a send gate (the core's wiring calls it; it does nothing while the cap is off)."""
    gates.register_gate(GATE_KEY, cap_gate, order=GATE_ORDER)


# Numbers ------------------------------------------------------------------------------------------------------

def held_back_by_tool(start, end) -> dict[str, int]:
    """{tool: messages the cap dropped (state ``capped``) in [start, end)} — one query."""
    rows = (Message.objects.filter(state=State.CAPPED, closed_at__gte=start, closed_at__lt=end)
            .values("tool").annotate(n=Count("id")).order_by())
    return {row["tool"]: row["n"] for row in rows}


def held_back(tool, start, end) -> int:
    """Messages of ``tool`` the cap dropped in [start, end)."""
    return Message.objects.filter(tool=tool, state=State.CAPPED, closed_at__gte=start, closed_at__lt=end).count()


def waiting_for_room(tool=None) -> int:
    """Messages (of ``tool``) now waiting on the schedule because the cap held them back."""
    rows = Message.objects.filter(state=State.SCHEDULED, last_error__startswith=DROPPED_REASON)
    return (rows.filter(tool=tool) if tool else rows).count()


def priority_table() -> list[tuple[int, str, str]]:
    """(priority, kind key, tool) of every registered marketing message kind, most important first (for admin)."""
    from .kinds import _load_kinds, registered_kinds

    _load_kinds()
    return sorted((priority_of(kind.key), kind.key, kind.tool) for kind in registered_kinds().values()
                  if kind.marketing)
