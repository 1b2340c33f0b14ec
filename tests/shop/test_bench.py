"""The benchmarks: every script still runs end to end (smoke mode), and a missed target fails `make bench`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import run

ROOT = Path(__file__).resolve().parent.parent.parent


def test_a_missed_target_makes_the_run_exit_non_zero(tmp_path, monkeypatch):
    """bench/run.py's exit status follows the tables: MISSED anywhere → 1 (a missed target used to exit 0)."""
    script = tmp_path / "bench_that_misses.py"
    script.write_text("print('page  12.0 ms  <= 10 ms  MISSED')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, missed = run.run("bench_that_misses", [], dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert (code, missed) == (0, True)
    script.write_text("print('page  8.0 ms  <= 10 ms  ok')\n")
    assert run.run("bench_that_misses", [], dict(os.environ, PYTHONPATH=str(tmp_path))) == (0, False)
    result = subprocess.run([sys.executable, "bench/run.py", "--only", "nope"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode != 0 and "unknown benchmark(s): nope" in result.stderr


def test_smoke_mode_shows_a_miss_without_enforcing_it(monkeypatch):
    from bench.common import verdict

    monkeypatch.setenv("BENCH_SMOKE", "1")
    assert verdict(False) == "missed (smoke: not enforced)" and verdict(True) == "ok"
    monkeypatch.setenv("BENCH_SMOKE", "0")
    assert verdict(False) == "MISSED"


def test_two_runs_at_once_use_their_own_scratch_databases_and_redis_database(monkeypatch):
    """Two `bench/run.py` at once (the SQLite and the PostgreSQL CI jobs, two checkouts) must not drop each other's
    scratch databases nor flush each other's Redis database: each run has its own suffix and claims its own Redis
    database (the names used to be fixed: journey_bench_smoke, Redis db 7)."""
    from bench import common

    monkeypatch.setenv("BENCH_RUN_SUFFIX", "")
    monkeypatch.delenv("BENCH_REDIS_URL", raising=False)
    first, second = {}, {}
    releases = [run.start_run(first)]
    try:
        releases.append(run.start_run(second))
        assert first["BENCH_RUN_SUFFIX"] != second["BENCH_RUN_SUFFIX"]
        names = []
        for env in (first, second):
            monkeypatch.setenv("BENCH_RUN_SUFFIX", env["BENCH_RUN_SUFFIX"])
            names.append(common.scratch_name(run.SMOKE_DB))
            assert common.scratch_name(names[-1]) == names[-1]  # applied once
            assert names[-1].startswith(common.BENCH_DB_PREFIX) and len(names[-1]) <= 63
        assert names[0] != names[1]
        if "BENCH_REDIS_URL" in first or "BENCH_REDIS_URL" in second:
            assert first.get("BENCH_REDIS_URL") != second.get("BENCH_REDIS_URL")
    finally:
        for release in releases:
            release()


@pytest.mark.slow
@pytest.mark.ci_once  # the smoke run uses PostgreSQL whenever a server answers, whatever the suite's database
def test_every_benchmark_runs_in_smoke_mode():
    """`bench/run.py --smoke`: tiny sizes on a scratch database, every script runs to its table (none crashes)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "BENCH_SMOKE")}
    result = subprocess.run([sys.executable, "bench/run.py", "--smoke"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for module in run.SCRIPTS:
        assert f"({module}: " in result.stdout
    assert "failed:" not in result.stdout and "Traceback" not in result.stderr
