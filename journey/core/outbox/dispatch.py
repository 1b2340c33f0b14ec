"""The periodic send job and its Celery fan-out.  Tasks are sent by their stable names (``journey.send_messages``,
``journey.send_message``): core does not import the module that declares them."""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.utils import timezone

from ...conf import journey_settings
from ..celery_app import celery_app_configured
from .claim import claim_due
from .send import SendReport, send_claimed
from .sweeper import requeue_stale

logger = logging.getLogger("journey.core.outbox")

SEND_MESSAGES_TASK = "journey.send_messages"
SEND_MESSAGE_TASK = "journey.send_message"


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


def send_soon(message_id):
    """Ask a Celery worker to send this message as soon as the transaction commits.  Without a Celery app (cron
    shops), or if the broker is unreachable, the next ``send_due_messages`` run sends it: nothing is lost."""
    if not celery_app_configured():
        return

    def enqueue():
        try:
            _send_task(SEND_MESSAGE_TASK, (message_id,), retry=False)
        except Exception:  # the broker is down: the periodic job will pick the row up
            logger.warning("journey: could not enqueue message %s; the periodic send job will send it", message_id,
                           exc_info=True)

    transaction.on_commit(enqueue)


def _enqueue_send(ids, claimed_at=None):
    _send_task(SEND_MESSAGES_TASK, (list(ids), claimed_at.isoformat() if claimed_at else None))


def _send_task(name, args, **options):
    """Send a task by name: through its registered task object when this process has it (so the app's settings,
    e.g. eager mode, apply), else by name through the broker."""
    from celery import current_app

    task = current_app.tasks.get(name)
    if task is not None:
        return task.apply_async(args, **options)
    return current_app.send_task(name, args=args, **options)
