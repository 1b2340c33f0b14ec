"""The sweeper: rows left ``sending`` by a dead worker or a lost task are put back (nothing went out) or failed
(the provider call had started: never sent twice)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from ...conf import journey_settings
from ..models import Message

logger = logging.getLogger("journey.core.outbox")
State = Message.State


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
