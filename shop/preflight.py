"""Check that DATABASE_URL and REDIS_URL are reachable before anything else runs.

``python -m shop.preflight`` prints one line per service and exits 1 when one cannot be reached, so
``make run`` and ``make test`` fail fast with a readable message instead of a traceback wall.
``--require-services`` (CI) also fails when either variable is unset: CI must never fall back to SQLite.
"""

import os
import sys


def check_database():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return True, f"database: SQLite at {db['NAME']}"
    import psycopg

    from .env import redact

    url = os.environ["DATABASE_URL"]
    try:
        psycopg.connect(
            host=db.get("HOST") or None, port=db.get("PORT") or None, user=db.get("USER") or None,
            password=db.get("PASSWORD") or None, dbname=db["NAME"], connect_timeout=5,
        ).close()
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else exc.__class__.__name__
        return False, f"database: cannot connect to DATABASE_URL {redact(url)}: {reason}"
    return True, f"database: PostgreSQL at {redact(url)}"


def check_broker():
    from .env import redact, redis_url

    url = redis_url()
    if not url:
        return True, "broker: embedded (kombu filesystem transport under var/)"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.RedisError, OSError) as exc:
        return False, f"broker: cannot reach REDIS_URL {redact(url)}: {exc}"
    return True, f"broker: Redis at {redact(url)}"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ok = True
    if "--require-services" in argv:
        for name in ("DATABASE_URL", "REDIS_URL"):
            if not os.environ.get(name):
                print(f"preflight: {name} is not set; CI must run against PostgreSQL and Redis.", file=sys.stderr)
                ok = False
        if not ok:
            return 1
    for check in (check_database, check_broker):
        passed, line = check()
        print(("ok    " if passed else "FAIL  ") + line, file=sys.stdout if passed else sys.stderr)
        ok = ok and passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
