"""Celery tasks.  Stable names; arguments are primitives; the database decides whether work is due."""

from celery import shared_task

from . import jobs


@shared_task(name="journey.run_job", ignore_result=True)
def run_job(key):
    """Run one periodic job if it is due and not already running (beat sends this)."""
    outcome = jobs.run_job(key)
    return outcome.state
