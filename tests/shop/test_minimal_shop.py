"""journey in a second, minimal Oscar shop with a custom user model and a forked Oscar app."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def minimal_database(tmp_path):
    """A fresh empty database of the same kind as this test run's (PostgreSQL in CI)."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        yield f"sqlite:///{tmp_path / 'minimal.sqlite3'}"
        return
    name = f"journey_minimal_{uuid.uuid4().hex[:8]}"
    params = {"host": settings["HOST"] or "127.0.0.1", "port": settings["PORT"] or 5432,
              "user": settings["USER"], "password": settings["PASSWORD"] or None, "dbname": "postgres"}
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    try:
        yield f"postgres://{auth}@{params['host']}:{params['port']}/{name}"
    finally:
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_journey_installs_into_a_shop_with_a_custom_user_and_a_forked_app(minimal_database, tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.minimal_shop.settings",
           "MINIMAL_SHOP_DATABASE_URL": minimal_database, "MINIMAL_SHOP_MEDIA_ROOT": str(tmp_path / "media")}
    result = subprocess.run([sys.executable, "-m", "tests.minimal_shop.smoke"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "minimal shop: all good" in result.stdout
