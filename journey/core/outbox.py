"""The outbox: one table of messages, rendered from overridable templates and sent through Django's mail API.

Life of a message::

    scheduled ──claim──▶ sending ──ESP accepted──▶ sent ──tracking──▶ delivered / opened / clicked / bounced …
        │                   │  └─transient error──▶ scheduled (later, with backoff; failed after MAX attempts)
        │                   └─permanent error / refused address──▶ failed (+ suppression)
        └─no longer eligible / suppressed──▶ cancelled / suppressed

* **Claiming** takes due rows under ``SELECT … FOR UPDATE SKIP LOCKED`` and marks them ``sending`` in one
  transaction: two workers, or a task delivered twice, never claim the same row.
* **Eligibility is checked again at send time** (the basket may have been ordered since the message was scheduled).
* **Crash safety**: ``esp_call_started_at`` is committed just before the ESP is called.  The sweeper puts back rows
  left ``sending`` by a dead worker *before* that point (nothing went out: sent later, not lost); a row that died
  *during* the ESP call is failed and flagged, never sent again (no duplicate mail).
* Redis only carries the nudge: a claimed batch whose task the broker lost is swept back after
  ``JOURNEY["SEND_STALE_AFTER_SECONDS"]``.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from .. import signals
from ..conf import journey_settings
from ..exceptions import JourneyError
from . import suppression, tokens
from .models import Message, Suppression

logger = logging.getLogger(__name__)
State = Message.State


class NotEligible(JourneyError):
    """Raised by a kind's context builder: the message must not be sent any more (the reason is recorded)."""


@dataclass(frozen=True)
class MessageKind:
    """A kind of mail a tool sends.  ``build_context(message)`` returns the template context or raises NotEligible."""

    key: str
    tool: str
    template: str  # prefix: <template>_subject.txt, <template>_body.txt, <template>_body.html
    build_context: Callable[[Message], dict]
    marketing: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)
    # Optional: contexts for a whole batch at once, {message id: context dict or NotEligible}, with a fixed number
    # of queries for the batch (what makes sending fast); build_context stays the one-message fallback.
    prepare_batch: Callable[[list[Message]], dict] | None = None


_KINDS: dict[str, MessageKind] = {}


def register_kind(kind: MessageKind) -> MessageKind:
    _KINDS[kind.key] = kind
    return kind


def get_kind(key: str) -> MessageKind:
    _load_kinds()
    return _KINDS[key]


def _load_kinds():
    # Each tool's module (listed in the registry) imports its mail module, which registers the tool's kinds.
    from .registry import registry

    registry.all()


# Scheduling --------------------------------------------------------------------------------------------------
def schedule(*, kind: str, subject_key: str, step: int, to_email: str, due_at, user=None, language="",
             context=None) -> tuple[Message, bool]:
    """Schedule one message; idempotent on (subject_key, step).  Returns (message, created)."""
    definition = get_kind(kind)
    defaults = {
        "tool": definition.tool, "kind": kind, "to_email": suppression.normalize(to_email), "user": user,
        "language": language or "", "context": context or {}, "due_at": due_at, "marketing": definition.marketing,
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


def schedule_many(new_messages, *, now=None) -> int:
    """Schedule many messages at once; idempotent on (subject_key, step).  Returns how many were new.

    On PostgreSQL one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING``, without building model objects
    (the abandoned-basket scan schedules tens of thousands at a time); elsewhere ``bulk_create``."""
    new_messages = list(new_messages)
    if not new_messages:
        return 0
    now = now or timezone.now()
    kinds = {m.kind: get_kind(m.kind) for m in new_messages}
    if connection.vendor != "postgresql":
        marker = timezone.now()
        with transaction.atomic():
            Message.objects.bulk_create([
                Message(tool=kinds[m.kind].tool, kind=m.kind, subject_key=m.subject_key, step=m.step,
                        to_email=suppression.normalize(m.to_email), user_id=m.user_id, language=m.language or "",
                        marketing=kinds[m.kind].marketing, context=m.context, due_at=m.due_at)
                for m in new_messages
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
        return cursor.rowcount


def cancel(queryset, reason: str, *, now=None) -> int:
    """Cancel the scheduled messages of ``queryset``; returns how many."""
    now = now or timezone.now()
    return queryset.filter(state=State.SCHEDULED).update(state=State.CANCELLED, closed_at=now,
                                                         close_reason=reason[:200])


def cancel_pending_for_email(email: str, *, reason: str) -> int:
    return cancel(Message.objects.filter(to_email=suppression.normalize(email), marketing=True), reason)


# Claiming and sending ------------------------------------------------------------------------------------------
def claim_due(limit: int, *, now=None, only_ids=None, claimed_at=None) -> list[int]:
    """Mark up to ``limit`` due messages (due by ``now``) as sending and return their ids (skipping rows other
    workers hold).  The claim itself is stamped with the real time (or ``claimed_at``, taken just before): the
    sweeper and the batch task measure its age, and the stamp tells this claim from a later one of the same rows."""
    now = now or timezone.now()
    due = Message.objects.select_for_update(skip_locked=True).filter(state=State.SCHEDULED, due_at__lte=now)
    if only_ids is not None:
        due = due.filter(id__in=list(only_ids))
    with transaction.atomic():
        ids = list(due.order_by("due_at", "id").values_list("id", flat=True)[:limit])
        if ids:
            Message.objects.filter(id__in=ids).update(
                state=State.SENDING, claimed_at=claimed_at or timezone.now(), esp_call_started_at=None,
                attempts=F("attempts") + 1,
            )
    return ids


def requeue_stale(*, now=None) -> tuple[int, int]:
    """Sweep rows left 'sending' by a dead worker or a lost task.  Returns (requeued, failed).

    A row whose ESP call has not started is put back when its *claim* is older than ``SEND_STALE_AFTER_SECONDS``
    (nothing went out), or failed if it has used its ``SEND_MAX_ATTEMPTS`` (a mail that kills its worker every time
    must not loop forever).  A row whose ESP call started is failed only when that *call* is older than the sweep
    age: a long batch's rows are claimed together but called one after another, and the one being called now is
    not stale however old its batch's claim is."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=journey_settings.SEND_STALE_AFTER_SECONDS)
    max_attempts = journey_settings.SEND_MAX_ATTEMPTS
    not_called = Message.objects.filter(state=State.SENDING, esp_call_started_at__isnull=True, claimed_at__lt=cutoff)
    gave_up = not_called.filter(attempts__gte=max_attempts).update(
        state=State.FAILED, closed_at=now,
        close_reason=f"gave up after {max_attempts} attempts: the sending worker stopped each time",
    )
    requeued = not_called.filter(attempts__lt=max_attempts).update(state=State.SCHEDULED, due_at=now, claimed_at=None)
    interrupted = Message.objects.filter(state=State.SENDING, esp_call_started_at__lt=cutoff).update(
        state=State.FAILED, closed_at=now,
        close_reason="interrupted during the ESP call: not sent again, to avoid a duplicate; check the ESP's log",
    )
    failed = gave_up + interrupted
    if requeued or failed:
        logger.warning("journey outbox sweeper: %d message(s) requeued, %d failed", requeued, failed)
    return requeued, failed


def note_redelivery(ids, *, now=None, claimed_at=None) -> tuple[int, int]:
    """A batch task delivered again after its worker died: one more attempt for each of its rows still waiting for
    the ESP call, or failed when it has used its ``SEND_MAX_ATTEMPTS``.  Returns (counted, failed).

    With the batch's ``claimed_at``, only rows still under that claim count: rows the sweeper requeued and a new
    claim took already counted that attempt (and belong to the new batch)."""
    now = now or timezone.now()
    max_attempts = journey_settings.SEND_MAX_ATTEMPTS
    waiting = Message.objects.filter(id__in=list(ids), state=State.SENDING, esp_call_started_at__isnull=True)
    if claimed_at is not None:
        waiting = waiting.filter(claimed_at=claimed_at)
    failed = waiting.filter(attempts__gte=max_attempts).update(
        state=State.FAILED, closed_at=now,
        close_reason=f"gave up after {max_attempts} attempts: the sending worker stopped each time",
    )
    counted = waiting.update(attempts=F("attempts") + 1)
    return counted, failed


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    suppressed: int = 0
    render_seconds: float = 0.0
    send_seconds: float = 0.0

    def add(self, other: SendReport):
        for name in ("sent", "failed", "retried", "cancelled", "suppressed", "render_seconds", "send_seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __str__(self):
        return (f"sent {self.sent}, failed {self.failed}, retried {self.retried}, cancelled {self.cancelled}, "
                f"suppressed {self.suppressed}")


def send_claimed(ids, *, claimed_at=None) -> SendReport:
    """Send the given claimed messages (each re-checked: only rows still 'sending' are sent; with ``claimed_at``,
    only rows still under that claim — a batch redelivered after its rows were claimed again leaves them alone)."""
    from . import events

    # The batch's journey events (mail sent, vouchers issued) in one INSERT; the link tokens its mails get, to be
    # blanked out of the copy of each mail the row keeps.
    with events.buffered(), tokens.collecting() as raw_tokens:
        return _send_claimed(ids, raw_tokens, claimed_at)


def _send_claimed(ids, raw_tokens=frozenset(), claimed_at=None) -> SendReport:
    report = SendReport()
    # A row claimed longer ago than the sweep age belongs to the sweeper (which counts the attempt): a task
    # redelivered again and again after its worker died (a broker that does not flag redeliveries) stops here.
    fresh = timezone.now() - timedelta(seconds=journey_settings.SEND_STALE_AFTER_SECONDS)
    rows = Message.objects.filter(id__in=list(ids), state=State.SENDING, esp_call_started_at__isnull=True,
                                  claimed_at__gte=fresh)
    if claimed_at is not None:
        rows = rows.filter(claimed_at=claimed_at)
    messages = list(rows.select_related("user").order_by("due_at", "id"))
    if not messages:
        return report
    started = time.perf_counter()
    suppressed = suppression.suppressed_among(m.to_email for m in messages if m.marketing)
    contexts = _prepare(messages, suppressed)
    # Unsubscribe links for the mails that will go out (not the suppressed or no longer eligible ones), one token
    # per mail: a retry gets the same link again.
    marketing = [m for m in messages if m.marketing and m.to_email not in suppressed
                 and not isinstance(contexts.get(m.pk), NotEligible)]
    unsubscribe = dict(zip(
        [m.pk for m in marketing],
        tokens.issue_many("unsubscribe", [(m.pk, {"email": m.to_email}) for m in marketing],
                          ttl=timedelta(days=journey_settings.UNSUBSCRIBE_TOKEN_DAYS), per_object=True),
        strict=True,
    ))
    report.render_seconds += time.perf_counter() - started
    mail_connection = None
    try:
        from django.core.mail import get_connection

        mail_connection = get_connection()
        mail_connection.open()
        for message in messages:
            _send_one(message, mail_connection, suppressed, report, contexts.get(message.pk),
                      unsubscribe.get(message.pk), raw_tokens)
    finally:
        if mail_connection is not None:
            mail_connection.close()
    return report


def _prepare(messages, suppressed):
    """Batch contexts from the kinds that can build them; a kind that fails falls back to one message at a time."""
    contexts, by_kind = {}, {}
    for message in messages:
        if message.to_email not in suppressed or not message.marketing:
            by_kind.setdefault(message.kind, []).append(message)
    for key, group in by_kind.items():
        try:
            kind = get_kind(key)
            if kind.prepare_batch:
                contexts.update(kind.prepare_batch(group))
        except Exception:
            logger.exception("journey: preparing a batch of %s mails failed; building them one by one", key)
    return contexts


def _close(message, state, reason, *, error="", now=None):
    now = now or timezone.now()
    Message.objects.filter(pk=message.pk, state=State.SENDING).update(
        state=state, closed_at=now, close_reason=reason[:200], last_error=error
    )


def _send_one(message: Message, connection, suppressed: set, report: SendReport, context=None, unsubscribe=None,
              raw_tokens=frozenset()):
    if message.marketing and message.to_email in suppressed:
        _close(message, State.SUPPRESSED, "address is on the suppression list")
        report.suppressed += 1
        return
    started = time.perf_counter()
    try:
        kind = get_kind(message.kind)
        if isinstance(context, NotEligible):
            raise context
        with translation.override(message.language or None):
            if context is None:
                context = kind.build_context(message)
            email = _render(message, kind, context, unsubscribe)
    except NotEligible as exc:
        _close(message, State.CANCELLED, str(exc))
        report.cancelled += 1
        return
    except Exception as exc:  # a rendering bug: retry later like any transient failure, bounded
        logger.exception("journey: rendering message %s failed", message.pk)
        _retry_or_fail(message, f"rendering failed: {describe(exc)}", report)
        return
    report.render_seconds += time.perf_counter() - started

    started = time.perf_counter()
    now = timezone.now()
    # Commit the rendered mail and the point of no return before calling the ESP (see the module docstring).
    # Conditional on no ESP call having started: of two tasks holding the same row, exactly one gets past here.
    # The kept copy has its link tokens blanked out: staff who read it must not get the customer's links.
    marked = Message.objects.filter(pk=message.pk, state=State.SENDING, esp_call_started_at__isnull=True).update(
        esp_call_started_at=now, subject=tokens.redact(email.subject, raw_tokens)[:255],
        body_text=tokens.redact(email.body, raw_tokens),
        body_html=tokens.redact(email.alternatives[0][0], raw_tokens) if email.alternatives else "",
    )
    if not marked:
        return  # swept or cancelled meanwhile
    email.connection = connection
    try:
        email.send()
    except (AnymailRecipientsRefused, AnymailInvalidAddress) as exc:
        _close(message, State.FAILED, "the ESP refused the address", error=describe(exc))
        suppression.suppress(message.to_email, Suppression.Reason.INVALID, message=message, note=describe(exc)[:200])
        report.failed += 1
        return
    except AnymailAPIError as exc:
        status = getattr(exc, "status_code", None)
        if status and 400 <= status < 500 and status not in (408, 429):
            _close(message, State.FAILED, f"the ESP rejected the message (HTTP {status})", error=describe(exc))
            report.failed += 1
        else:
            _retry_or_fail(message, describe(exc), report, esp_called=True)
        return
    except (OSError, smtplib.SMTPException) as exc:
        _retry_or_fail(message, describe(exc), report, esp_called=True)
        return
    report.send_seconds += time.perf_counter() - started

    status = getattr(email, "anymail_status", None)
    recipient = status.recipients.get(message.to_email) if status and status.recipients else None
    if recipient is not None and recipient.status in ("rejected", "invalid"):
        _close(message, State.FAILED, f"the ESP {recipient.status} the address")
        suppression.suppress(message.to_email, Suppression.Reason.INVALID, message=message)
        report.failed += 1
        return
    esp_id = recipient.message_id if recipient and recipient.message_id is not None else (
        status.message_id if status else None)
    Message.objects.filter(pk=message.pk).update(
        state=State.SENT, sent_at=timezone.now(), esp_message_id="" if esp_id is None else str(esp_id)[:200],
        esp_name=getattr(connection, "esp_name", "") or "", esp_status=(recipient.status if recipient else "sent")
        or "sent", last_error="",
    )
    report.sent += 1
    signals.message_sent.send(sender=Message, message=message)


def describe(exc) -> str:
    """A one-line description of an exception that never fails itself."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}{f' (HTTP {status})' if status else ''}: {text}"[:2000]


def _retry_or_fail(message, error, report, *, esp_called=False):
    """A transient failure: try again later with exponential backoff, or fail after SEND_MAX_ATTEMPTS."""
    now = timezone.now()
    if message.attempts >= journey_settings.SEND_MAX_ATTEMPTS:
        _close(message, State.FAILED, f"gave up after {message.attempts} attempts", error=error[:2000], now=now)
        report.failed += 1
        return
    delay = journey_settings.SEND_RETRY_BASE_SECONDS * 2 ** (message.attempts - 1)
    Message.objects.filter(pk=message.pk, state=State.SENDING).update(
        state=State.SCHEDULED, due_at=now + timedelta(seconds=delay), claimed_at=None, esp_call_started_at=None,
        last_error=error[:2000],
    )
    report.retried += 1


def _render(message: Message, kind: MessageKind, context: dict, unsubscribe=None) -> EmailMultiAlternatives:
    context = {**context, "message": message, "site_url": site_url()}
    headers = {}
    if message.marketing:
        unsubscribe_url = absolute_url(reverse("journey:unsubscribe", args=[unsubscribe or unsubscribe_token(message)]))
        context["unsubscribe_url"] = unsubscribe_url
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        if unsubscribe_url.startswith("https://"):  # RFC 8058: one-click only with an https URI
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    template = context.get("mail_template") or kind.template  # a tool may pick the template per message
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    text = render_to_string(f"{template}_body.txt", context)
    html = render_to_string(f"{template}_body.html", context)
    email = EmailMultiAlternatives(subject=subject, body=text, from_email=from_email(), to=[message.to_email],
                                   headers=headers)
    email.attach_alternative(html, "text/html")
    # django-anymail extras: what the ESP needs to tag, track and route events back to this row.
    email.tags = ["journey", message.tool, *kind.tags]
    email.metadata = {"journey_message_id": str(message.pk), "journey_tool": message.tool}
    email.track_clicks = True
    email.track_opens = True
    return email


def unsubscribe_token(message: Message) -> str:
    return tokens.issue("unsubscribe", object_id=message.pk, data={"email": message.to_email},
                        ttl=timedelta(days=journey_settings.UNSUBSCRIBE_TOKEN_DAYS), per_object=True)


def site_url() -> str:
    return str(journey_settings.SITE_URL or "").rstrip("/")


def absolute_url(path: str) -> str:
    return site_url() + path


def from_email():
    from django.conf import settings

    return journey_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL


# The periodic job and its Celery fan-out ------------------------------------------------------------------------
def send_due(*, via="tick", now=None, enqueue=None) -> str:
    """The ``send_due_messages`` job: sweep stale rows, then claim due messages in batches and send them.

    From cron (``via="tick"``) batches are sent in this process; from Celery each batch becomes a
    ``journey.send_messages`` task, so every worker process sends in parallel.  Bounded by SEND_JOB_SECONDS.
    """
    requeued, swept_failed = requeue_stale(now=now)
    batch = journey_settings.SEND_BATCH_SIZE
    deadline = time.monotonic() + journey_settings.SEND_JOB_SECONDS
    report, batches = SendReport(), 0
    while time.monotonic() < deadline:
        claimed_at = timezone.now()
        ids = claim_due(batch, now=now, claimed_at=claimed_at)
        if not ids:
            break
        batches += 1
        if via == "celery":
            if enqueue is None:
                _enqueue_send(ids, claimed_at)  # the batch task carries its claim
            else:
                enqueue(ids)
        else:
            report.add(send_claimed(ids))
        if len(ids) < batch:
            break
    swept = f"; swept back {requeued}, failed {swept_failed}" if requeued or swept_failed else ""
    if via == "celery":
        return f"dispatched {batches} batch(es){swept}"
    return f"{report}{swept}"


def send_now(message_id) -> SendReport:
    """Claim and send one message if it is due (what the ``journey.send_message`` task does)."""
    ids = claim_due(1, only_ids=[message_id])
    return send_claimed(ids) if ids else SendReport()


def send_soon(message_id):
    """Ask a Celery worker to send this message as soon as the transaction commits.  Without a Celery app (cron
    shops), or if the broker is unreachable, the next ``send_due_messages`` run sends it: nothing is lost."""
    from ..checks import celery_app_configured

    if not celery_app_configured():
        return

    def enqueue():
        from .tasks import send_message

        try:
            send_message.apply_async((message_id,), retry=False)
        except Exception:  # the broker is down: the periodic job will pick the row up
            logger.warning("journey: could not enqueue message %s; the periodic send job will send it", message_id,
                           exc_info=True)

    transaction.on_commit(enqueue)


def _enqueue_send(ids, claimed_at=None):
    from .tasks import send_messages

    send_messages.delay(list(ids), claimed_at.isoformat() if claimed_at else None)
