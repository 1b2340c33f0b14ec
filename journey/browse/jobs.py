"""Browse abandonment: this tool's periodic jobs (pure data: ``journey.celery.beat_schedule()`` reads it)."""

from ..core.jobs import Job

JOBS: tuple[Job, ...] = (
    Job(
        key="scan_browse_abandonment",
        func="journey.browse.services.scan_job",
        interval=300,
        description="Finds known shoppers who looked at products and bought nothing, and schedules their reminder.",
        task="journey.scan_browse_abandonment",
    ),
)
