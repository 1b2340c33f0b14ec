"""``make run``: what it runs, read from make itself (``make -n`` prints the commands without running them)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def make_dry_run(*args, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "MAKEFLAGS", "MAKELEVEL")}
    environ.update(env)
    result = subprocess.run(
        ["make", "-n", "run", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


def lines_running(output, what):
    return [line for line in output.splitlines() if what in line]


@pytest.mark.parametrize("what", ["runserver", "celery -A shop worker", "load_demo"])
def test_make_run_points_mail_links_at_the_host_and_port_it_serves(what):
    output = make_dry_run("PORT=8123")
    found = lines_running(output, what)
    assert found, output
    assert all(re.search(r"SITE_URL='http://127\.0\.0\.1:8123'", line) for line in found), found


def test_make_run_keeps_a_site_url_that_is_set():
    output = make_dry_run("PORT=8123", SITE_URL="https://shop.example.com")
    (line,) = lines_running(output, "runserver")
    assert "SITE_URL='https://shop.example.com'" in line


@pytest.mark.slow
@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL")),
    reason="make run with nothing set: runs in the nothing-set pass of .ci/run (it ignores DATABASE_URL anyway)",
)
def test_make_run_setup_on_a_fresh_clone_shows_a_live_demo(tmp_path):
    """make run's set-up steps with nothing set (SQLite, embedded broker), on a fresh clone of the committed tree."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SHOP_VAR_DIR", "SITE_URL", "DJANGO_SETTINGS_MODULE")
        and not k.startswith(("PYTEST", "TEST_"))
    }
    environ["SITE_URL"] = "http://127.0.0.1:8123"

    def manage(*args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=clone, env=environ, capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        return result.stdout

    manage("migrate", "--no-input", "-v", "0")
    manage("load_demo", "--size", "small", "--no-progress")
    manage("journey_rebuild_related")
    manage("journey_tick")
    result = subprocess.run(
        [sys.executable, "-m", "tests.make_run_check"], cwd=clone, env=environ, capture_output=True, text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    assert seen["home"] == {"status": 200, "products": seen["home"]["products"]} and seen["home"]["products"] > 0
    assert seen["category"]["status"] == 200 and seen["category"]["products"] > 0
    assert seen["map_status"] == 200
    assert set(seen["phases"]) == {"attract", "convince", "sell", "retain"}
    # The funnel behind the phase numbers is PostgreSQL-only before the SQLite funnel fix (another branch): until
    # that is merged a phase here is None and this assertion fails, on purpose.
    for phase, numbers in seen["phases"].items():
        assert numbers is not None and numbers["visits"] > 0, (phase, seen["phases"])
    assert seen["needs_attention"] == [], seen["needs_attention"]
