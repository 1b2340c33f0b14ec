"""Wrong DATABASE_URL / REDIS_URL values fail fast with one readable line, not a traceback wall."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def run(args, **env):
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", **env}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/shop"}, "DATABASE_URL must start with postgres://"),
        ({"DATABASE_URL": "postgres://u:secret@[::1/shop"}, "DATABASE_URL is not a valid database URL"),
        ({"REDIS_URL": "amqp://guest@localhost//"}, "REDIS_URL must start with redis://"),
        ({"DEBUG": "perhaps"}, "DEBUG must be true or false"),
    ],
)
def test_a_malformed_setting_is_one_line_naming_the_variable(env, expected):
    result = run(["manage.py", "check"], **env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and expected in lines[0], result.stderr
    assert "secret" not in result.stderr  # passwords are never printed


def test_an_unreachable_database_is_one_line_from_the_preflight():
    result = run(["-m", "shop.preflight"], DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere",
                 REDIS_URL="")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        line for line in result.stderr.strip().splitlines() if line.startswith("FAIL  database: cannot connect")
    ]
    assert "Traceback" not in result.stderr


def test_an_unreachable_redis_is_one_line_from_the_preflight():
    result = run(["-m", "shop.preflight"], DATABASE_URL="", REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert "FAIL  broker: cannot reach REDIS_URL redis://127.0.0.1:1/0" in result.stderr
    assert "Traceback" not in result.stderr


def test_ci_mode_refuses_to_fall_back_to_sqlite():
    result = run(["-m", "shop.preflight", "--require-services"], DATABASE_URL="", REDIS_URL="")
    assert result.returncode == 1
    assert "DATABASE_URL is not set" in result.stderr and "REDIS_URL is not set" in result.stderr
