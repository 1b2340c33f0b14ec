"""``make run``: what it runs, read from make itself (``make -n`` prints the commands without running them)."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
