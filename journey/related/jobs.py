"""Related products: this tool's periodic jobs (pure data: ``journey.celery.beat_schedule()`` reads it from a
settings module)."""

from ..core.jobs import Job

JOBS: tuple[Job, ...] = (
    Job(
        key="rebuild_related_products",
        func="journey.related.services.rebuild_job",
        interval=3600,
        description="Rebuilds the related-products lists once a day, at RELATED_REBUILD_HOUR (checked hourly).",
        task="journey.rebuild_related_products",
    ),
)
