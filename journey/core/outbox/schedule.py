"""Scheduling messages (one, or tens of thousands at once) and cancelling the ones no longer wanted."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .. import suppression
from ..analyze import analyze_after_bulk_write
from ..models import Message
from . import channels
from .kinds import get_kind

State = Message.State


def _address(channel: str, to_email: str, address: str, backends=None) -> str:
    backend = backends[channel] if backends else channels.get_backend(channel)
    return backend.address_for(to_email=suppression.normalize(to_email), address=address or "")


def schedule(*, kind: str, subject_key: str, step: int, to_email: str, due_at, user=None, language="",
             context=None, channel: str = channels.EMAIL, address: str = "") -> tuple[Message, bool]:
    """Schedule one message; idempotent on (subject_key, step).  Returns (message, created).

    ``to_email`` is the person's email (suppression, numbers and tracking key on it); ``channel`` the way the
    message reaches them and ``address`` what that channel delivers to (the email itself by default)."""
    definition = get_kind(kind)
    defaults = {
        "tool": definition.tool, "kind": kind, "to_email": suppression.normalize(to_email), "user": user,
        "language": language or "", "context": context or {}, "due_at": due_at, "marketing": definition.marketing,
        "channel": channel, "address": _address(channel, to_email, address),
    }
    try:
        with transaction.atomic():
            return Message.objects.get_or_create(subject_key=subject_key, step=step, defaults=defaults)
    except IntegrityError:
        return Message.objects.get(subject_key=subject_key, step=step), False


@dataclass(frozen=True)
class NewMessage:
    """A message to schedule in bulk (see schedule_many)."""

    kind: str
    subject_key: str
    step: int
    to_email: str
    due_at: object
    context: dict
    user_id: int | None = None
    language: str = ""
    channel: str = channels.EMAIL
    address: str = ""


def schedule_many(new_messages, *, now=None) -> int:
    """Schedule many messages at once; idempotent on (subject_key, step).  Returns how many were new.

    On PostgreSQL one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING``, without building model objects
    (the abandoned-basket scan schedules tens of thousands at a time); elsewhere ``bulk_create``."""
    new_messages = list(new_messages)
    if not new_messages:
        return 0
    now = now or timezone.now()
    kinds = {m.kind: get_kind(m.kind) for m in new_messages}
    backends = {key: channels.get_backend(key) for key in {m.channel for m in new_messages}}
    addresses = [_address(m.channel, m.to_email, m.address, backends) for m in new_messages]
    if connection.vendor != "postgresql":
        marker = timezone.now()
        with transaction.atomic():
            Message.objects.bulk_create([
                Message(tool=kinds[m.kind].tool, kind=m.kind, subject_key=m.subject_key, step=m.step,
                        to_email=suppression.normalize(m.to_email), user_id=m.user_id, language=m.language or "",
                        marketing=kinds[m.kind].marketing, context=m.context, due_at=m.due_at, channel=m.channel,
                        address=address)
                for m, address in zip(new_messages, addresses, strict=True)
            ], ignore_conflicts=True)
            # auto_now_add stamped the new rows with the clock: stamp them ``now`` as the PostgreSQL path does
            # (the win-back's "once per period" counts from it), and count only those that were new.
            return Message.objects.filter(subject_key__in={m.subject_key for m in new_messages},
                                          created_at__gte=marker).update(created_at=now, updated_at=now)
    columns = {
        "tool": ("text", [kinds[m.kind].tool for m in new_messages]),
        "kind": ("text", [m.kind for m in new_messages]),
        "subject_key": ("text", [m.subject_key for m in new_messages]),
        "step": ("int4", [m.step for m in new_messages]),
        "to_email": ("text", [suppression.normalize(m.to_email) for m in new_messages]),
        "channel": ("text", [m.channel for m in new_messages]),
        "address": ("text", addresses),
        "user_id": ("int8", [m.user_id or 0 for m in new_messages]),  # 0 → NULL below (an all-NULL array is untyped)
        "language": ("text", [m.language or "" for m in new_messages]),
        "marketing": ("bool", [kinds[m.kind].marketing for m in new_messages]),
        "context": ("text", [json.dumps(m.context) for m in new_messages]),
        "due_at": ("timestamptz", [m.due_at for m in new_messages]),
    }
    constants = {"state": "'scheduled'", "attempts": "0", "last_error": "''", "close_reason": "''", "esp_name": "''",
                 "esp_message_id": "''", "esp_status": "''", "subject": "''", "body_text": "''", "body_html": "''",
                 "created_at": "%s", "updated_at": "%s"}
    names = list(columns) + list(constants)
    cast = {"context": "c.context::jsonb", "user_id": "NULLIF(c.user_id, 0)"}
    selects = [cast.get(name, f"c.{name}") for name in columns] + list(constants.values())
    unnest = ", ".join(f"%s::{sqltype}[]" for sqltype, _values in columns.values())
    sql = (
        f"INSERT INTO {Message._meta.db_table} ({', '.join(names)}) "  # noqa: S608 - names are ours
        f"SELECT {', '.join(selects)} FROM unnest({unnest}) AS c({', '.join(columns)}) "
        f"ON CONFLICT (subject_key, step) DO NOTHING"
    )
    with connection.cursor() as cursor:
        # The two %s of created_at/updated_at come first in the SQL text, before the arrays of unnest().
        cursor.execute(sql, [now, now] + [values for _type, values in columns.values()])
        created = cursor.rowcount
    analyze_after_bulk_write(Message, rows=created)  # the send job's claim plans on fresh statistics
    return created


def cancel(queryset, reason: str, *, now=None) -> int:
    """Cancel the scheduled messages of ``queryset``; returns how many."""
    now = now or timezone.now()
    return queryset.filter(state=State.SCHEDULED).update(state=State.CANCELLED, closed_at=now,
                                                         close_reason=reason[:200])


def cancel_pending_for_email(email: str, *, reason: str, channel: str = "") -> int:
    """Cancel the scheduled marketing messages to this person (on one channel, or on all with ``channel=""``)."""
    pending = Message.objects.filter(to_email=suppression.normalize(email), marketing=True)
    if channel:
        pending = pending.filter(channel=channel)
    if channel in ("", channels.ONSITE):
        from .channels.onsite import withdraw_live

        withdraw_live(email)  # an on-site message already showing is taken down too
    return cancel(pending, reason)


def on_address_suppressed(sender, suppression, **kwargs):
    """``address_suppressed`` receiver: nothing else is due to this person on that channel."""
    cancel_pending_for_email(suppression.email, reason=f"suppressed: {suppression.reason}",
                             channel=suppression.channel)
