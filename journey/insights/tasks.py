"""Insights: this tool's Celery tasks (stable names; the tool's connect() imports this module)."""

from celery import shared_task

from ..core import jobs


@shared_task(name="journey.ga4_send", ignore_result=True)
def ga4_send(delivery_id):
    """Send one GA4 Measurement Protocol event (purchase / refund) if it is still waiting: never twice."""
    from . import ga4

    return ga4.send(delivery_id)


@shared_task(name="journey.rollup_insights", ignore_result=True)
def rollup_insights():
    """Roll up the funnel of ended days (beat sends this every 15 minutes; idempotent, never twice at once)."""
    return jobs.run_job("insights_rollup", via="celery").state
