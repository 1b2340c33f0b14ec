import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from journey.core import jobs
from journey.models import JobState
from tests.race import on_postgresql, run_at_once

CALLS = []


def slow_job(via):
    time.sleep(0.5)
    CALLS.append(1)
    return "slow done"


def failing_job(via):
    raise ValueError("no stock feed")


def overtaken_job(via):
    """While this run works, its lease expires and another runner takes the job over (a new token and lease)."""
    JobState.objects.filter(key="overtaken").update(lease_token="someone-else",
                                                    lease_until=timezone.now() + timedelta(minutes=5))
    CALLS.append(1)
    return "overtaken done"


@pytest.fixture
def test_jobs(monkeypatch):
    CALLS.clear()
    monkeypatch.setattr(
        jobs,
        "JOBS",
        jobs.JOBS
        + (
            jobs.Job("slow", "tests.core.test_jobs.slow_job", 300),
            jobs.Job("failing", "tests.core.test_jobs.failing_job", 300),
            jobs.Job("overtaken", "tests.core.test_jobs.overtaken_job", 300),
        ),
    )


@pytest.mark.django_db
def test_a_due_job_runs_once_and_then_waits_for_its_interval(test_jobs):
    first = jobs.run_job("slow")
    assert (first.state, first.summary) == ("ran", "slow done")
    assert jobs.run_job("slow").state == "not_due"
    assert len(CALLS) == 1
    state = JobState.objects.get(key="slow")
    assert state.runs == 1 and state.last_summary == "slow done" and state.lease_until is None
    assert state.next_run_at == state.last_started_at + timedelta(seconds=300)
    # once the interval has passed it is due again
    later = state.next_run_at + timedelta(seconds=1)
    assert jobs.run_job("slow", now=later).state == "ran"
    assert len(CALLS) == 2


@pytest.mark.django_db
def test_force_runs_a_job_that_is_not_due(test_jobs):
    jobs.run_job("slow")
    assert jobs.run_job("slow", force=True).state == "ran"
    assert len(CALLS) == 2


@pytest.mark.django_db
def test_a_failing_job_records_its_error_and_waits_an_interval(test_jobs):
    outcome = jobs.run_job("failing")
    assert outcome.failed and "no stock feed" in outcome.summary
    state = JobState.objects.get(key="failing")
    assert state.failures == 1 and "ValueError: no stock feed" in state.last_error and state.lease_until is None
    assert state.last_success_at is None
    assert jobs.run_job("failing").state == "not_due"


@pytest.mark.django_db
def test_a_lease_left_by_a_dead_runner_is_taken_over_after_it_expires(test_jobs):
    now = timezone.now()
    JobState.objects.create(key="slow", next_run_at=now, lease_until=now + timedelta(minutes=5), lease_token="dead")
    assert jobs.run_job("slow").state == "busy"
    assert jobs.run_job("slow", now=now + timedelta(minutes=6)).state == "ran"


@pytest.mark.django_db
def test_a_runner_whose_lease_was_taken_over_does_not_overwrite_the_new_owner(test_jobs):
    outcome = jobs.run_job("overtaken")
    assert outcome.state == "ran" and CALLS == [1]
    state = JobState.objects.get(key="overtaken")
    # run_job's release matched its own token only: the new owner's lease and the counters are untouched.
    assert state.lease_token == "someone-else" and state.lease_until is not None
    assert state.runs == 0 and state.last_success_at is None and state.last_summary == ""


@pytest.mark.django_db(transaction=True)
@on_postgresql
def test_two_concurrent_runners_run_a_job_once(test_jobs):
    results = run_at_once(4, lambda _i: jobs.run_job("slow").state)
    assert sorted(results).count("ran") == 1
    assert len(CALLS) == 1
    assert JobState.objects.get(key="slow").runs == 1


@pytest.mark.django_db
def test_journey_tick_runs_due_jobs_and_reports_them(test_jobs, capsys):
    with pytest.raises(CommandError, match="1 job\\(s\\) failed: failing"):
        call_command("journey_tick")
    out, err = capsys.readouterr()
    assert "heartbeat: ran" in out and "slow: ran" in out and "failing: failed" in err
    call_command("journey_tick", "--job", "heartbeat")
    assert "heartbeat: not due" in capsys.readouterr().out


@pytest.mark.django_db
def test_journey_tick_names_unknown_jobs():
    with pytest.raises(CommandError, match="No journey job 'nope'"):
        call_command("journey_tick", "--job", "nope")


def test_journey_tick_lists_jobs(capsys):
    call_command("journey_tick", "--list")
    assert "heartbeat" in capsys.readouterr().out


def test_job_interval_can_be_overridden_in_settings(settings):
    settings.JOURNEY = {"JOB_INTERVALS": {"heartbeat": 120}}
    assert jobs.get_job("heartbeat").get_interval() == 120
