"""Price-drop alerts: this tool's periodic jobs (pure data: ``journey.celery.beat_schedule()`` reads it)."""

from ..core.jobs import Job

JOBS: tuple[Job, ...] = (
    Job(
        key="scan_price_drops",
        func="journey.pricedrops.services.scan_job",
        interval=3600,
        description="Records the prices customers saw for what they keep in a basket or wish list, and alerts "
                    "them when one falls.",
        task="journey.scan_price_drops",
    ),
)
