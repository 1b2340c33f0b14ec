"""Periodic jobs: one list, two ways to run them (Celery beat or ``manage.py journey_tick`` from cron).

Each job is declared as plain data (the core's here, each tool package's in its own ``jobs.py``), so
``journey.celery.beat_schedule()`` can be called from a settings module before Django's apps are ready.  The
database row ``JobState`` is the record of when each job last ran and who is running it now: a runner *claims* a
job with one conditional UPDATE (due and not leased), runs it, and releases it.  Two runners, a duplicate Celery
delivery or cron and beat together therefore run a job once per interval; a runner that dies leaves a lease that
expires after ``JOURNEY["JOB_LEASE_SECONDS"]``.  The job functions are idempotent on top of that, so even a lease
taken over mid-run does no harm.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from importlib.util import find_spec

from django.utils import timezone
from django.utils.module_loading import import_string

from ..conf import journey_settings, tool_modules
from ..exceptions import JobBusy, UnknownJob

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    key: str
    # Dotted path of a callable ``func(via=...)`` returning a short summary (str) or None; ``via`` is "tick" when
    # run in-process (journey_tick, admin) and "celery" when a worker runs it (it may then fan out to tasks).
    func: str
    interval: int  # seconds between runs (overridable with JOURNEY["JOB_INTERVALS"])
    description: str = ""
    # The Celery task beat sends.  The generic task takes the job key; a tool may give a job its own named task.
    task: str = "journey.run_job"

    def get_interval(self) -> int:
        return int(journey_settings.JOB_INTERVALS.get(self.key, self.interval))

    def beat_args(self):
        return (self.key,) if self.task == "journey.run_job" else ()


# The core's periodic jobs; each tool package declares its own in ``<package>/jobs.py`` (see all_jobs()).
JOBS: tuple[Job, ...] = (
    Job(
        key="heartbeat",
        func="journey.core.jobs.heartbeat",
        interval=60,
        description="Records that the scheduler (beat or cron) is alive; the journey map reads it.",
    ),
    Job(
        key="send_due_messages",
        func="journey.core.outbox.send_due",
        interval=60,
        description="Sends the outbox's due mails (and sweeps back mails a dead worker or a lost task left).",
        task="journey.send_due_messages",
    ),
    Job(
        key="purge_expired_tokens",
        func="journey.core.tokens.purge_job",
        interval=24 * 3600,
        description="Deletes link tokens that expired more than 30 days ago.",
    ),
    Job(
        key="purge_old_data",
        func="journey.core.privacy.retention_job",
        interval=24 * 3600,
        description="Deletes events, mails and consent records older than EVENT_RETENTION_DAYS, "
        "MESSAGE_RETENTION_DAYS and CONSENT_RETENTION_DAYS, in batches.",
        task="journey.purge_old_data",
    ),
    Job(
        key="event_partitions",
        func="journey.core.partitions.partitions_job",
        interval=24 * 3600,
        description="PostgreSQL: creates the events table's partitions for this month and the next "
        "EVENT_PARTITION_MONTHS_AHEAD months (nothing to do on other databases).",
    ),
)


def heartbeat(via="tick"):
    expect_every_job()
    return "alive"


def _has_module(name) -> bool:
    try:
        return find_spec(name) is not None
    except ModuleNotFoundError:  # the package itself is missing (the system check journey.E030 names it)
        return False


def all_jobs(packages=None) -> tuple[Job, ...]:
    """The core's jobs and those of every installed tool package (``JOURNEY["TOOLS"]``, or ``packages``)."""
    if packages is None:
        modules = tool_modules("jobs")
    else:
        modules = [import_module(f"{package}.jobs") for package in packages if _has_module(f"{package}.jobs")]
    return JOBS + tuple(job for module in modules for job in module.JOBS)


def get_job(key: str) -> Job:
    every = all_jobs()
    for job in every:
        if job.key == key:
            return job
    raise UnknownJob(f"No journey job {key!r}; known jobs: {', '.join(j.key for j in every)}")


@dataclass(frozen=True)
class Outcome:
    key: str
    state: str  # ran | failed | not_due | busy
    summary: str = ""
    duration: float = 0.0

    @property
    def failed(self):
        return self.state == "failed"


def _claim(job: Job, now, *, force: bool):
    """Take the job's lease if it is due (or forced) and nobody holds it; return the lease token or None."""
    from django.db.models import Q

    from .models import JobState

    JobState.objects.get_or_create(key=job.key, defaults={"next_run_at": now})
    # A beat tick may arrive a little before the exact interval has passed: allow 10 % early.
    slack = timedelta(seconds=job.get_interval() * 0.1)
    candidates = JobState.objects.filter(key=job.key).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    if not force:
        candidates = candidates.filter(next_run_at__lte=now + slack)
    token = uuid.uuid4().hex
    lease = timedelta(seconds=journey_settings.JOB_LEASE_SECONDS)
    claimed = candidates.update(lease_until=now + lease, lease_token=token, last_started_at=now)
    return token if claimed else None


def run_job(key: str, *, force: bool = False, now=None, via: str = "tick") -> Outcome:
    """Run one job if it is due and not running elsewhere.  Never raises for the job's own errors."""
    from django.db.models import F

    from .. import signals
    from .models import JobState

    job = get_job(key)
    now = now or timezone.now()
    token = _claim(job, now, force=force)
    if token is None:
        state = JobState.objects.filter(key=key).values("lease_until").first()
        busy = state and state["lease_until"] and state["lease_until"] > now
        return Outcome(key, "busy" if busy else "not_due")
    started = time.monotonic()
    mine = JobState.objects.filter(key=key, lease_token=token)
    try:
        summary = import_string(job.func)(via=via)
    except Exception as exc:
        duration = time.monotonic() - started
        logger.exception("journey job %s failed", key)
        mine.update(
            lease_until=None,
            lease_token="",
            last_finished_at=timezone.now(),
            last_duration=duration,
            last_error="".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000],
            failures=F("failures") + 1,
            # Try again at the next interval, not in a tight loop.
            next_run_at=now + timedelta(seconds=job.get_interval()),
        )
        outcome = Outcome(key, "failed", str(exc), duration)
    else:
        duration = time.monotonic() - started
        finished = timezone.now()
        mine.update(
            lease_until=None,
            lease_token="",
            last_finished_at=finished,
            last_success_at=finished,
            last_duration=duration,
            last_error="",
            last_summary=str(summary or "")[:500],
            runs=F("runs") + 1,
            next_run_at=now + timedelta(seconds=job.get_interval()),
        )
        outcome = Outcome(key, "ran", str(summary or ""), duration)
    signals.job_finished.send(sender=Job, job=job, outcome=outcome)
    return outcome


@contextmanager
def holding(key: str, *, now=None):
    """Hold ``key``'s lease while the block runs (a management command doing a job's work by hand): the job does not
    run elsewhere meanwhile, and the block does not start while the job runs (``JobBusy``).  Released on exit if it
    is still ours; the job's schedule and counters are left as they are."""
    from .models import JobState

    job = get_job(key)
    token = _claim(job, now or timezone.now(), force=True)
    if token is None:
        raise JobBusy(f"The job {key!r} is running elsewhere right now.")
    try:
        yield
    finally:
        JobState.objects.filter(key=key, lease_token=token).update(lease_until=None, lease_token="")


def run_due_jobs(*, only=None, force=False) -> list[Outcome]:
    """Run every job that is due now, one after the other, in this process (what journey_tick does)."""
    keys = list(only) if only else [job.key for job in all_jobs()]
    for key in keys:
        get_job(key)  # unknown keys fail before anything runs
    return [run_job(key, force=force) for key in keys]


def stale_jobs(keys, *, now=None) -> list[str]:
    """Those of ``keys`` that are really late — not merely waiting for their next (or first) run.

    A job is late when its last success is older than JOB_STALE_AFTER_INTERVALS intervals and its next run is due
    (a job whose next run lies ahead, e.g. after a longer JOB_INTERVALS, is not late).  A job that never succeeded
    is late when no scheduler runs (the heartbeat is late), when its runs so far failed, or when it has been
    expected (its JobState row, which the heartbeat creates for every job, exists) for that many intervals: Celery
    beat sends a daily job a day after it started, so a new shop is not "late" on its first day.
    """
    if not keys:
        return []
    from .models import JobState

    now = now or timezone.now()
    factor = journey_settings.JOB_STALE_AFTER_INTERVALS
    states = {state.key: state for state in JobState.objects.filter(key__in={*keys, "heartbeat"})}

    def limit(key):
        return timedelta(seconds=get_job(key).get_interval() * factor)

    def late(key):
        state = states.get(key)
        if state is not None and state.last_success_at is not None:
            if now - state.last_success_at <= limit(key):
                return False
            return state.next_run_at <= now or bool(state.last_error)
        if key == "heartbeat" or late("heartbeat"):
            return True
        if state is None:
            return False  # the scheduler runs and has not created its row yet: waiting for its first run
        return bool(state.failures) or now - state.next_run_at > limit(key)

    return [key for key in keys if late(key)]


def expect_every_job(now=None):
    """Make sure every job has its JobState row (due now, as a first claim would make it): the moment a job is
    first expected to run, which :func:`stale_jobs` measures a job that never ran from."""
    from .models import JobState

    now = now or timezone.now()
    known = set(JobState.objects.values_list("key", flat=True))
    JobState.objects.bulk_create([JobState(key=job.key, next_run_at=now) for job in all_jobs()
                                  if job.key not in known],
                                 ignore_conflicts=True)
