"""Browser tests: Debian's chromium driven by Playwright's Python package against a live server.

Screenshots go to test-artifacts/ (ignored by git) so a person can look at what the shopper and the owner saw."""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-quic", "--no-first-run"]
# Headless Chromium says "HeadlessChrome" in its User-Agent, which journey's event capture counts as a bot (and
# records nothing): a test of what journey records browses as a phone's Chrome.
PHONE_USER_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                    "Chrome/126.0 Mobile Safari/537.36")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "user_agent": PHONE_USER_AGENT}


@pytest.fixture(scope="session")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM}")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def shot(request):
    """shot(page, name) saves a full-page screenshot under test-artifacts/<test name>-<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name):
        slug = re.sub(r"[^a-z0-9]+", "-", f"{request.node.name}-{name}".lower()).strip("-")
        path = ARTIFACTS / f"{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        return path

    return take


@pytest.fixture
def sign_in_owner(live_server, django_user_model):
    """``sign_in_owner(page, next_path)``: the store owner (a superuser) signs in to Django admin on ``page`` and lands
    on ``next_path`` (e.g. "/admin/journey/journeymap/")."""
    django_user_model.objects.create_superuser(username="owner", email="owner@example.com", password="pw-owner-1")

    def sign_in(page, next_path):
        page.goto(f"{live_server.url}/admin/login/?next={next_path}")
        page.fill("input[name=username]", "owner")
        page.fill("input[name=password]", "pw-owner-1")
        page.locator("input[type=submit], button[type=submit]").first.click()
        page.wait_for_url(lambda url: urlsplit(url).path == next_path)
        return page

    return sign_in


@pytest.fixture
def fresh_visitor():
    """Ask for this in a test of the consent banner itself: its visitors have not answered the banner yet."""
    return True


@pytest.fixture(autouse=True)
def consent_answered(request):
    """Visitors in the other browser tests have already answered journey's consent banner (necessary cookies only),
    so the banner does not cover the page they click on."""
    names = request.fixturenames
    if "fresh_visitor" in names or "browser" not in names or "live_server" not in names:
        yield
        return
    from journey.conf import journey_settings

    browser, live_server = request.getfixturevalue("browser"), request.getfixturevalue("live_server")
    cookie = [{"name": journey_settings.CONSENT_COOKIE_NAME, "value": f"{journey_settings.CONSENT_VERSION}:00:test",
               "url": live_server.url}]
    new_context, new_page = browser.new_context, browser.new_page

    def answered_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        context.add_cookies(cookie)
        return context

    def answered_page(*args, **kwargs):
        page = new_page(*args, **kwargs)
        page.context.add_cookies(cookie)
        return page

    browser.new_context, browser.new_page = answered_context, answered_page
    yield
    del browser.new_context, browser.new_page
