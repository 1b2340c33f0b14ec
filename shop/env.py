"""Settings from the environment, failing fast with one readable line when a value is wrong."""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


class BadEnvironment(SystemExit):
    """Exit with one line that says which variable is wrong and how."""

    def __init__(self, message):
        super().__init__(f"journey demo shop: {message}")


def redact(url):
    """The URL without its password, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("@")[-1] if "@" in url else url
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def database(var_dir: Path):
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(var_dir / "db.sqlite3"),
            "OPTIONS": {
                # Web process and worker share the file: WAL + immediate transactions avoid "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "TEST": {"NAME": str(var_dir / "test.sqlite3")},
        }
    import dj_database_url

    try:
        scheme = urlsplit(url).scheme
    except ValueError as exc:
        raise BadEnvironment(f"DATABASE_URL is not a valid database URL ({exc}): {redact(url)}") from None
    if scheme not in ("postgres", "postgresql", "pgsql", "sqlite"):
        raise BadEnvironment(
            f"DATABASE_URL must start with postgres:// or sqlite:///, not {scheme or 'nothing'}:// ({redact(url)})"
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise BadEnvironment(f"DATABASE_URL is not a valid database URL ({exc}): {redact(url)}") from None
    if config["ENGINE"].endswith("postgresql"):
        config.setdefault("OPTIONS", {})["connect_timeout"] = 5
        if not config.get("NAME"):
            raise BadEnvironment(f"DATABASE_URL names no database: {redact(url)}")
    return config


def redis_url():
    url = os.environ.get("REDIS_URL", "").strip()
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if url and scheme not in ("redis", "rediss", "unix"):
        raise BadEnvironment(f"REDIS_URL must start with redis://, rediss:// or unix://: {redact(url)}")
    return url or None


def flag(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off", ""):
        return False
    raise BadEnvironment(f"{name} must be true or false, not {value!r}")


def warn(message):
    print(f"journey demo shop: {message}", file=sys.stderr)
