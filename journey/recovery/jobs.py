"""Abandoned-basket recovery: this tool's periodic jobs (pure data: ``journey.celery.beat_schedule()`` reads it from a
settings module)."""

from ..core.jobs import Job

JOBS: tuple[Job, ...] = (
    Job(
        key="scan_abandoned_baskets",
        func="journey.recovery.services.scan_job",
        interval=60,
        description="Finds baskets left for RECOVERY_ABANDON_AFTER_MINUTES and schedules their recovery mails.",
        task="journey.scan_abandoned_baskets",
    ),
)
