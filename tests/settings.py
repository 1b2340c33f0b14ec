"""Test settings: the demo shop's, with what tests need changed.  DATABASE_URL / REDIS_URL as for the shop."""

import atexit
import os
import shutil
import tempfile

from shop.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The ESP boundary: anymail's test backend (messages in django.core.mail.outbox with their anymail params).
# Child processes (a real Celery worker) may be given a backend whose sends a test can see: files.
EMAIL_BACKEND = os.environ.get("TEST_EMAIL_BACKEND", "anymail.backends.test.EmailBackend")
# Whitenoise's manifest is not built in tests.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Holdouts start off in tests (a random 10 % of recipients held out would make mail tests flaky); the holdout tests
# set their shares themselves.
JOURNEY = {"SITE_URL": "http://testserver", "HOLDOUT_START_SHARE": "0"}
if os.environ.get("TEST_SEND_STALE_AFTER_SECONDS"):
    JOURNEY["SEND_STALE_AFTER_SECONDS"] = int(os.environ["TEST_SEND_STALE_AFTER_SECONDS"])
# A test's own broker options for a child worker (e.g. a short Redis visibility timeout), as JSON.
if os.environ.get("TEST_BROKER_TRANSPORT_OPTIONS"):
    import json

    CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
                                       **json.loads(os.environ["TEST_BROKER_TRANSPORT_OPTIONS"])}
# Templates only tests use (a deliberately slow mail, to kill a worker in the middle of sending it).
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "tests" / "templates"]  # noqa: F405
TEMPLATES[0]["OPTIONS"]["libraries"] = {"test_slow": "tests.slow_tags"}  # noqa: F405
LANGUAGE_CODE = "en"
# Per-process cache, emptied before each test (tests/conftest.py): cached lists and rate-limit counters of one test
# must not leak into the next, and clearing a Redis cache would also flush the broker's queues in the same db.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The catalogue's Whoosh index: one folder per test process (SQLite and PostgreSQL runs may share a worktree), built
# by the tests that browse the catalogue; product saves do not update it (no index writes in every other test).
_search_index_dir = tempfile.mkdtemp(prefix="journey-test-search-")
atexit.register(shutil.rmtree, _search_index_dir, ignore_errors=True)
HAYSTACK_CONNECTIONS = {
    "default": {"ENGINE": "haystack.backends.whoosh_backend.WhooshEngine", "PATH": _search_index_dir}
}
HAYSTACK_SIGNAL_PROCESSOR = "haystack.signals.BaseSignalProcessor"
