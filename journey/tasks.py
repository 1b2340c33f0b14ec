"""Celery tasks.  Stable names; arguments are primitives; the database decides whether work is due."""

from celery import shared_task

from . import jobs


@shared_task(name="journey.run_job", ignore_result=True)
def run_job(key):
    """Run one periodic job if it is due and not already running (beat sends this)."""
    return jobs.run_job(key, via="celery").state


@shared_task(name="journey.scan_abandoned_baskets", ignore_result=True)
def scan_abandoned_baskets():
    """Find abandoned baskets and schedule their recovery mails (beat sends this every minute).  Runs whenever it
    is sent (the scan is idempotent), but never twice at once."""
    return jobs.run_job("scan_abandoned_baskets", via="celery", force=True).state


@shared_task(name="journey.rebuild_related_products", ignore_result=True)
def rebuild_related_products():
    """Rebuild the related-products lists if today's rebuild is due (beat sends this hourly)."""
    return jobs.run_job("rebuild_related_products", via="celery").state


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

    from .core.outbox import note_redelivery, send_claimed

    claim = parse_datetime(claimed_at) if claimed_at else None
    if (self.request.delivery_info or {}).get("redelivered"):
        note_redelivery(ids, claimed_at=claim)
    return str(send_claimed(ids, claimed_at=claim))


@shared_task(name="journey.send_message", ignore_result=True)
def send_message(message_id):
    """Send one message now if it is due (e.g. the "email me my basket" mail)."""
    from .core.outbox import send_now

    return str(send_now(message_id))


@shared_task(name="journey.birthday_rewards", ignore_result=True)
def birthday_rewards():
    """Reward the birthdays of each new day in the store's time zone (beat sends this hourly; a day is handled
    once, whoever runs it)."""
    return jobs.run_job("birthday_rewards", via="celery").state


@shared_task(name="journey.schedule_winback_mails", ignore_result=True)
def schedule_winback_mails():
    """Schedule today's win-back mails if the daily run is due (beat sends this daily)."""
    return jobs.run_job("schedule_winback_mails", via="celery").state


@shared_task(name="journey.ga4_send", ignore_result=True)
def ga4_send(delivery_id):
    """Send one GA4 Measurement Protocol event (purchase / refund) if it is still waiting: never twice."""
    from .insights import ga4

    return ga4.send(delivery_id)


@shared_task(name="journey.purge_old_data", ignore_result=True)
def purge_old_data():
    """Delete events, sent mails and consent records older than their retention windows (beat sends this daily)."""
    return jobs.run_job("purge_old_data", via="celery").state


@shared_task(name="journey.rollup_insights", ignore_result=True)
def rollup_insights():
    """Roll up the funnel of ended days (beat sends this every 15 minutes; idempotent, never twice at once)."""
    return jobs.run_job("insights_rollup", via="celery").state
