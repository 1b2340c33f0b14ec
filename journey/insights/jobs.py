"""Insights: this tool's periodic jobs (pure data: ``journey.celery.beat_schedule()`` reads it from a
settings module)."""

from ..core.jobs import Job

JOBS: tuple[Job, ...] = (
    Job(
        key="ga4_send_pending",
        func="journey.insights.ga4.send_pending",
        interval=300,
        description="Sends GA4 Measurement Protocol events (purchases, refunds) a lost task left waiting.",
    ),
    Job(
        key="insights_rollup",
        func="journey.insights.funnel.rollup_job",
        interval=15 * 60,
        description="Rolls up the funnel of every ended store day not final yet (the journey map reads today live).",
        task="journey.rollup_insights",
    ),
)
