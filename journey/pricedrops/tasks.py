"""Price-drop alerts: this tool's Celery tasks (stable names; the tool's connect() imports this module)."""

from celery import shared_task

from ..core import jobs


@shared_task(name="journey.scan_price_drops", ignore_result=True)
def scan_price_drops():
    """Record prices and schedule the price-drop alerts now due (beat sends this hourly).  Idempotent."""
    return jobs.run_job("scan_price_drops", via="celery", force=True).state
