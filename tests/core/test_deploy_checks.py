"""Case F40: ``manage.py check --deploy`` on production-like settings (tests/settings_production.py)."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def check_deploy(**env):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "CRITICAL"], cwd=ROOT,
        # Without DJANGO_ALLOW_ASYNC_UNSAFE, which the browser tests set for Playwright (async.E001 in production).
        env={**{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
             "DJANGO_SETTINGS_MODULE": "tests.settings_production", **env},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return sorted(set(re.findall(r"\((\S+?\.[EW]\d+)\)", result.stdout + result.stderr))), result.stdout


def test_check_deploy_on_production_like_settings_is_clean():
    ids, output = check_deploy()
    assert ids == [], output
    assert "System check identified no issues" in output


def test_check_deploy_warns_only_about_what_journey_means_to_flag():
    ids, output = check_deploy(TEST_DEPLOY_FLAWS="1")
    # console mail backend, missing webhook secret, http SITE_URL — and nothing else
    assert ids == ["journey.W007", "journey.W012", "journey.W013"], output
