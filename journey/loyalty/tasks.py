"""Birthdays and win-back: this tool's Celery tasks (stable names; the tool's connect() imports this module)."""

from celery import shared_task

from ..core import jobs


@shared_task(name="journey.birthday_rewards", ignore_result=True)
def birthday_rewards():
    """Reward the birthdays of each new day in the store's time zone (beat sends this hourly; a day is handled
    once, whoever runs it)."""
    return jobs.run_job("birthday_rewards", via="celery").state


@shared_task(name="journey.schedule_winback_mails", ignore_result=True)
def schedule_winback_mails():
    """Schedule today's win-back mails if the daily run is due (beat sends this daily)."""
    return jobs.run_job("schedule_winback_mails", via="celery").state
