import os
from decimal import Decimal

import pytest
from django.db import connection


def database_url_for_subprocess():
    """A DATABASE_URL a child process can use to reach the database this test run uses (the test database)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{os.path.abspath(s['NAME'])}"
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def subprocess_env():
    """The environment for a child Django process sharing this test run's database and broker."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env["DATABASE_URL"] = database_url_for_subprocess()
    return env


@pytest.fixture
def staff_user(db):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(
        username="owner", email="owner@example.com", password="pw", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_journeymap", content_type__app_label="journey"))
    return user


@pytest.fixture(autouse=True)
def anymail_test_backend(settings):
    """Django's test setup forces the locmem backend; journey's ESP boundary in tests is anymail's test backend."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the settings' language: a request with ``Accept-Language: es`` (LocaleMiddleware) leaves
    Spanish active in the test's thread, which the next test would otherwise inherit."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def empty_cache():
    from django.core.cache import cache

    from journey.core import memo

    cache.clear()
    memo.clear_all()


# A browser's User-Agent: journey's event capture counts requests without one as bots (and records nothing).
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
)


# A desktop browser's, for tests that tell the devices apart.
DESKTOP_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
)


@pytest.fixture
def client():
    from django.test import Client

    return Client(HTTP_USER_AGENT=BROWSER_USER_AGENT)


@pytest.fixture
def shopper(client):
    """The test client, browsing as a desktop Chrome."""
    client.defaults["HTTP_USER_AGENT"] = DESKTOP_USER_AGENT
    return client


@pytest.fixture
def product(db):
    """A product in stock, for a shopper to look at and buy."""
    from oscar.test.factories import create_product

    return create_product(title="Aged Cheddar", price=Decimal("4.50"), num_in_stock=5)


@pytest.fixture
def scripted_esp(settings):
    """The ESP as a script (tests/esp.py): each send answers what the test queued (success, an error, a delay)."""
    from . import esp

    settings.EMAIL_BACKEND = "tests.esp.ScriptedESPBackend"
    esp.SCRIPT.clear()
    yield esp.SCRIPT
    esp.SCRIPT.clear()
