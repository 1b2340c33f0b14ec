"""The send loop: re-check each claimed message, build its context, and hand it to its channel's backend.

Channel-agnostic: what a channel renders, how it delivers and how its provider's errors read is the backend's
business (:mod:`.channels`); this loop only knows the classification (transient → retry with backoff, permanent →
failed, address rejected → failed and suppressed on that channel)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone, translation

from ... import signals
from ...conf import journey_settings
from ...exceptions import AddressRejected, ChannelError, NotEligible, PermanentChannelError, TransientChannelError
from .. import suppression, tokens
from ..models import Message, Suppression
from . import channels, gates
from .claim import claim_due
from .kinds import get_kind
from .links import describe

logger = logging.getLogger("journey.core.outbox")
State = Message.State


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    suppressed: int = 0
    held: int = 0  # closed by a send gate (control group, frequency cap)
    deferred: int = 0  # put back on the schedule by a send gate
    render_seconds: float = 0.0
    send_seconds: float = 0.0

    def add(self, other: SendReport):
        for name in ("sent", "failed", "retried", "cancelled", "suppressed", "held", "deferred", "render_seconds",
                     "send_seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __str__(self):
        return (f"sent {self.sent}, failed {self.failed}, retried {self.retried}, cancelled {self.cancelled}, "
                f"suppressed {self.suppressed}, held {self.held}, deferred {self.deferred}")


def send_claimed(ids, *, claimed_at=None) -> SendReport:
    """Send the given claimed messages (each re-checked: only rows still 'sending' are sent; with ``claimed_at``,
    only rows still under that claim — a batch redelivered after its rows were claimed again leaves them alone)."""
    from .. import events

    # The batch's journey events (mail sent, vouchers issued) in one INSERT; the link tokens its messages get, to
    # be blanked out of the copy of each message the row keeps.
    with events.buffered(), tokens.collecting() as raw_tokens:
        return _send_claimed(ids, raw_tokens, claimed_at)


def send_now(message_id) -> SendReport:
    """Claim and send one message if it is due (what the ``journey.send_message`` task does)."""
    ids = claim_due(1, only_ids=[message_id])
    return send_claimed(ids) if ids else SendReport()


class _Backends:
    """The batch's channel backends, each opened when its first message needs it and closed at the end."""

    def __init__(self):
        self.open = {}

    def get(self, key):
        if key not in self.open:
            backend = channels.get_backend(key)
            backend.open()
            self.open[key] = backend
        return self.open[key]

    def close(self):
        for backend in self.open.values():
            backend.close()


class _SentMarks:
    """The "sent" marks of the mails the provider accepted, written in the same commit as the next mail's "call
    started" mark (one commit per mail, not two), and the last ones at the end of the batch.  A worker that dies
    in between leaves at most the one mail it was sending unrecorded, as before: its row keeps the mark, so the
    sweeper fails it rather than sending it twice."""

    def __init__(self):
        self.pending = []

    def add(self, message, delivery):
        self.pending.append((message, delivery, timezone.now()))

    def write(self) -> list[Message]:
        """Write the pending marks (in the caller's transaction, if any); the messages to announce once committed."""
        done, self.pending = self.pending, []
        for message, delivery, sent_at in done:
            Message.objects.filter(pk=message.pk).update(
                state=State.SENT, sent_at=sent_at, esp_message_id=delivery.provider_id[:200],
                esp_name=delivery.provider[:32], esp_status=delivery.status or "sent", last_error="",
            )
        return [message for message, _delivery, _sent_at in done]

    def flush(self):
        announce(self.write())


def announce(messages):
    for message in messages:
        signals.message_sent.send(sender=Message, message=message)


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
    suppressed = suppression.suppressed_messages([m for m in messages if m.marketing])
    verdicts = gates.decide([m for m in messages if m.pk not in suppressed])
    if verdicts:
        for message in messages:
            if message.pk in verdicts and gates.apply(message, verdicts[message.pk]):
                if isinstance(verdicts[message.pk], gates.Hold):
                    report.held += 1
                else:
                    report.deferred += 1
        messages = [m for m in messages if m.pk not in verdicts]
    contexts = _prepare(messages, suppressed)
    going_out = [m for m in messages if m.pk not in suppressed and not isinstance(contexts.get(m.pk), NotEligible)]
    backends, marks = _Backends(), _SentMarks()
    try:
        # Per-batch extras of each channel (the email channel's unsubscribe links: one token per mail that will go
        # out, not for the suppressed or no longer eligible ones).
        extras = {}
        for key in {m.channel for m in going_out}:
            try:
                extras.update(channels.get_backend(key).prepare([m for m in going_out if m.channel == key]))
            except ChannelError:
                logger.exception("journey: preparing a batch of %s messages failed", key)
        report.render_seconds += time.perf_counter() - started
        for message in messages:
            _send_one(message, backends, suppressed, report, contexts.get(message.pk), extras.get(message.pk),
                      raw_tokens, marks)
    finally:
        try:
            marks.flush()
        finally:
            backends.close()
    return report


def _prepare(messages, suppressed):
    """Batch contexts from the kinds that can build them; a kind that fails falls back to one message at a time."""
    contexts, by_kind = {}, {}
    for message in messages:
        if message.pk not in suppressed:
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


def render(message: Message, context=None, extra=None, *, backend=None):
    """Render ``message`` on its channel (the kind's context built if not given): a channels.Rendered."""
    kind = get_kind(message.kind)
    backend = backend or channels.get_backend(message.channel)
    with translation.override(message.language or None):
        if context is None:
            context = kind.context_for(message)
        return backend.render(message, kind, context, extra)


def _send_one(message: Message, backends: _Backends, suppressed: set, report: SendReport, context=None, extra=None,
              raw_tokens=frozenset(), marks=None):
    if message.pk in suppressed:
        _close(message, State.SUPPRESSED, "address is on the suppression list")
        report.suppressed += 1
        return
    started = time.perf_counter()
    backend = backends.get(message.channel)  # a connection that cannot open propagates: the sweeper takes the rows
    try:
        if isinstance(context, NotEligible):
            raise context
        rendered = render(message, context, extra, backend=backend)
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
    # Commit the rendered message and the point of no return before calling the provider (see the package
    # docstring).  Conditional on no call having started: of two tasks holding the same row, exactly one gets past
    # here.  The kept copy has its link tokens blanked out: staff who read it must not get the customer's links.
    # The previous mail's "sent" mark goes in the same commit.
    own_marks = marks is None
    marks = _SentMarks() if own_marks else marks
    with transaction.atomic():
        sent_before = marks.write()
        marked = Message.objects.filter(pk=message.pk, state=State.SENDING, esp_call_started_at__isnull=True).update(
            esp_call_started_at=now, subject=tokens.redact(rendered.subject, raw_tokens)[:255],
            body_text=tokens.redact(rendered.text, raw_tokens), body_html=tokens.redact(rendered.html, raw_tokens),
        )
    announce(sent_before)
    if not marked:
        return  # swept or cancelled meanwhile
    try:
        delivery = backend.send(message, rendered)
    except AddressRejected as exc:
        _close(message, State.FAILED, exc.reason, error=exc.error)
        suppression.suppress(message.to_email, Suppression.Reason.INVALID, message=message, note=exc.error[:200],
                             channel=backend.suppression_channel or message.channel)
        report.failed += 1
        return
    except PermanentChannelError as exc:
        _close(message, State.FAILED, exc.reason, error=exc.error)
        report.failed += 1
        return
    except TransientChannelError as exc:
        _retry_or_fail(message, exc.error or exc.reason, report, esp_called=True)
        return
    report.send_seconds += time.perf_counter() - started
    marks.add(message, delivery)  # written with the next mail's mark, or at the end of the batch
    report.sent += 1
    if own_marks:
        marks.flush()


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
