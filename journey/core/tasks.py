"""The core's Celery tasks (the job runner and the outbox).  Stable names; arguments are primitives; the database
decides whether work is due.  Each tool package keeps its own tasks in ``<package>/tasks.py``."""

from celery import shared_task

from ..core import jobs


@shared_task(name="journey.run_job", ignore_result=True)
def run_job(key):
    """Run one periodic job if it is due and not already running (beat sends this)."""
    return jobs.run_job(key, via="celery").state


@shared_task(name="journey.send_due_messages", ignore_result=True)
def send_due_messages():
    """Sweep stale rows, claim the outbox's due mails in batches and hand each batch to a ``journey.send_messages``
    task.  Runs whenever it is sent (claiming is row-locked), but never twice at once."""
    return jobs.run_job("send_due_messages", via="celery", force=True).state


@shared_task(name="journey.send_messages", ignore_result=True, acks_late=True, reject_on_worker_lost=True, bind=True)
def send_messages(self, ids, claimed_at=None):
    """Send a claimed batch.  Idempotent (only rows still 'sending' and not yet handed to the ESP are sent), hence
    acks_late, and reject_on_worker_lost: a pool process killed mid-batch puts the task back for another one.  A
    redelivery counts as an attempt of each row still waiting, so a mail that kills its worker every time fails
    after SEND_MAX_ATTEMPTS instead of looping.  ``claimed_at`` (ISO 8601) is the batch's claim: a batch delivered
    after the sweeper gave its rows to a new claim neither counts nor sends them (a task queued without it, by an
    older version, acts on every row still waiting)."""
    from django.utils.dateparse import parse_datetime

    from .outbox import note_redelivery, send_claimed

    claim = parse_datetime(claimed_at) if claimed_at else None
    if (self.request.delivery_info or {}).get("redelivered"):
        note_redelivery(ids, claimed_at=claim)
    return str(send_claimed(ids, claimed_at=claim))


@shared_task(name="journey.send_message", ignore_result=True)
def send_message(message_id):
    """Send one message now if it is due (e.g. the "email me my basket" mail)."""
    from .outbox import send_now

    return str(send_now(message_id))


@shared_task(name="journey.purge_old_data", ignore_result=True)
def purge_old_data():
    """Delete events, sent mails and consent records older than their retention windows (beat sends this daily)."""
    return jobs.run_job("purge_old_data", via="celery").state
