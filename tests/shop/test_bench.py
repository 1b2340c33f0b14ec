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


@pytest.mark.slow
def test_every_benchmark_runs_in_smoke_mode():
    """`bench/run.py --smoke`: tiny sizes on a scratch database, every script runs to its table (none crashes)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "BENCH_SMOKE")}
    result = subprocess.run([sys.executable, "bench/run.py", "--smoke"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for module in run.SCRIPTS:
        assert f"({module}: " in result.stdout
    assert "failed:" not in result.stdout and "Traceback" not in result.stderr
