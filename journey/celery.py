"""Celery integration for host projects.

journey does not impose a schedule: merge :func:`beat_schedule` into your own::

    from journey.celery import beat_schedule
    CELERY_BEAT_SCHEDULE = {**beat_schedule(), **your_own}

With some of journey's tools turned off, pass the same list as ``JOURNEY["TOOLS"]``:
``beat_schedule(tools=JOURNEY["TOOLS"])``.

Safe to call from a settings module: it imports no Django model.
"""

from .conf import BUILTIN_TOOLS
from .core.jobs import all_jobs


def beat_schedule(intervals=None, prefix="journey.", tools=None):
    """A Celery beat schedule with one entry per journey job.

    ``intervals`` overrides seconds per job key, like ``JOURNEY["JOB_INTERVALS"]``: pass the same dict to both.
    ``tools`` is the list of tool packages the shop runs, like ``JOURNEY["TOOLS"]`` (default: journey's own):
    pass the same list to both when you turn a tool off.
    Each entry expires after its own interval, so a worker that was down does not run a backlog of ticks.
    """
    intervals = intervals or {}
    schedule = {}
    for job in all_jobs(tuple(BUILTIN_TOOLS if tools is None else tools)):
        seconds = float(intervals.get(job.key, job.interval))
        schedule[prefix + job.key] = {
            "task": job.task,
            "schedule": seconds,
            "args": job.beat_args(),
            "options": {"expires": seconds},
        }
    return schedule
