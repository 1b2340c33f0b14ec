"""Browse abandonment: this tool's Celery tasks (stable names; the tool's connect() imports this module)."""

from celery import shared_task

from ..core import jobs


@shared_task(name="journey.scan_browse_abandonment", ignore_result=True)
def scan_browse_abandonment():
    """Schedule the browse reminders now due (beat sends this every five minutes).  The scan is idempotent."""
    return jobs.run_job("scan_browse_abandonment", via="celery", force=True).state
