"""Celery integration for host projects.

journey does not impose a schedule: merge :func:`beat_schedule` into your own::

    from journey.celery import beat_schedule
    CELERY_BEAT_SCHEDULE = {**beat_schedule(), **your_own}

Safe to call from a settings module: it imports no Django model.
"""

from .jobs import all_jobs


def beat_schedule(intervals=None, prefix="journey."):
    """A Celery beat schedule with one entry per journey job.

    ``intervals`` overrides seconds per job key, like ``JOURNEY["JOB_INTERVALS"]``: pass the same dict to both.
    Each entry expires after its own interval, so a worker that was down does not run a backlog of ticks.
    """
    intervals = intervals or {}
    schedule = {}
    for job in all_jobs():
        seconds = float(intervals.get(job.key, job.interval))
        schedule[prefix + job.key] = {
            "task": job.task,
            "schedule": seconds,
            "args": job.beat_args(),
            "options": {"expires": seconds},
        }
    return schedule
