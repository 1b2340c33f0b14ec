"""Related products: this tool's Celery tasks (stable names; the tool's connect() imports this module)."""

from celery import shared_task

from ..core import jobs


@shared_task(name="journey.rebuild_related_products", ignore_result=True)
def rebuild_related_products():
    """Rebuild the related-products lists if today's rebuild is due (beat sends this hourly)."""
    return jobs.run_job("rebuild_related_products", via="celery").state
