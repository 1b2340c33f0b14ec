"""Abandoned-basket recovery: this tool's Celery tasks (stable names; the tool's connect() imports this module)."""

from celery import shared_task

from ..core import jobs


@shared_task(name="journey.scan_abandoned_baskets", ignore_result=True)
def scan_abandoned_baskets():
    """Find abandoned baskets and schedule their recovery mails (beat sends this every minute).  Runs whenever it
    is sent (the scan is idempotent), but never twice at once."""
    return jobs.run_job("scan_abandoned_baskets", via="celery", force=True).state
