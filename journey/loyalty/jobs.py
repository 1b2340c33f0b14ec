"""Birthdays and win-back: this tool's periodic jobs (pure data: ``journey.celery.beat_schedule()`` reads it from a
settings module)."""

from ..core.jobs import Job

JOBS: tuple[Job, ...] = (
    Job(
        key="birthday_rewards",
        func="journey.loyalty.birthdays.services.birthday_job",
        interval=3600,
        description="Issues the birthday vouchers and schedules the birthday mails of each new day (store time zone).",
        task="journey.birthday_rewards",
    ),
    Job(
        key="schedule_winback_mails",
        func="journey.loyalty.followups.services.winback_job",
        interval=24 * 3600,
        description="Schedules a win-back mail for customers whose last order is older than the program's days.",
        task="journey.schedule_winback_mails",
    ),
)
