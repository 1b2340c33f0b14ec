"""journey's tasks through a real Celery worker process on the configured broker (Redis in CI)."""

import subprocess
import sys
import time

import pytest
from django.conf import settings

from journey.celery import beat_schedule
from journey.models import JobState
from shop.celery import app


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    schedule = beat_schedule()
    assert schedule, "journey has periodic jobs"
    for name, entry in schedule.items():
        assert name.startswith("journey.")
        assert entry["task"] in app.tasks, entry["task"]
        assert entry["options"]["expires"] == entry["schedule"]


def test_beat_schedule_takes_interval_overrides():
    assert beat_schedule({"heartbeat": 5})["journey.heartbeat"]["schedule"] == 5.0


def test_the_demo_shop_merges_journeys_schedule():
    assert set(beat_schedule()) <= set(settings.CELERY_BEAT_SCHEDULE)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_job_sent_through_the_broker_once(subprocess_env, tmp_path):
    from journey.tasks import run_job

    log_file = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed in finally
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "shop", "worker", "--pool=solo", "--concurrency=1",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-Q", "celery", "--loglevel=INFO"],
        env=subprocess_env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    try:
        # The same task delivered twice (a duplicate delivery) still runs the job once per interval.
        run_job.delay("heartbeat")
        run_job.delay("heartbeat")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = JobState.objects.filter(key="heartbeat").first()
            if state and state.runs and state.lease_until is None:
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
        else:
            pytest.fail("the worker did not run the job:\n" + (tmp_path / "worker.log").read_text())
        time.sleep(1.5)  # give the duplicate time to arrive
        assert JobState.objects.get(key="heartbeat").runs == 1
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        log_file.close()
    log = (tmp_path / "worker.log").read_text()
    assert "journey.run_job" in log
