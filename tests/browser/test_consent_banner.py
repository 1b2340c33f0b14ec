"""The consent banner in a real browser (headless Chromium): nothing non-essential before a choice, nothing after
"reject all", GA4 (with its e-commerce events) and the visitor cookie after accepting analytics — on a phone."""

import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from oscar.test.factories import create_product

from journey.core.consent_models import ConsentRecord

from .conftest import PHONE as PHONE_BROWSER

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def cookies(context):
    return {c["name"]: c["value"] for c in context.cookies()}


def ga4_scripts(page):
    return page.locator('script[src*="googletagmanager.com"], script[data-journey-snippet="hotjar"]').count()


def ecommerce_events(page):
    """Names of the GA4 events in the page's dataLayer (gtag pushes its arguments objects)."""
    return page.evaluate("""() => (window.dataLayer || []).filter(e => e && e[0] === 'event').map(e => e[1])""")


@pytest.fixture
def measured(settings):
    settings.JOURNEY = {**settings.JOURNEY, "GA4_MEASUREMENT_ID": "G-TEST1234", "HOTJAR_SITE_ID": "1234567"}


def test_a_fresh_visitor_decides_in_the_banner_before_anything_non_essential_runs(
        browser, live_server, shot, fresh_visitor, measured):
    product = create_product(title="Organic Wildflower Honey", price=Decimal("6.00"), num_in_stock=10)
    url = live_server.url + product.get_absolute_url()

    # A fresh visitor: the banner, nothing ticked, no visitor cookie, no GA4 / Hotjar.
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.route(re.compile(r"https://(www\.googletagmanager\.com|static\.hotjar\.com)/.*"),
                  lambda route: route.fulfill(status=200, body="", content_type="application/javascript"))
    page = context.new_page()
    page.goto(url)
    banner = page.get_by_role("dialog", name="Cookies and your privacy")
    assert banner.is_visible()
    assert not page.get_by_label("Analytics").is_checked() and not page.get_by_label("Marketing").is_checked()
    assert page.get_by_label("Necessary").is_disabled()
    assert "journey_vid" not in cookies(context) and ga4_scripts(page) == 0
    shot(page, "banner-on-a-phone")

    # Reject all: the banner closes, still nothing.
    banner.get_by_role("button", name="Reject all").click()
    page.wait_for_function("document.getElementById('journey-consent').hidden")
    page.reload()
    assert not page.locator("#journey-consent").is_visible()
    assert "journey_vid" not in cookies(context) and ga4_scripts(page) == 0
    assert "journey_consent" in cookies(context)

    # The footer link opens the banner again (keyboard too); accept analytics only.
    link = page.get_by_role("link", name="Cookie settings")
    link.focus()
    page.keyboard.press("Enter")
    assert banner.is_visible()
    page.get_by_label("Analytics").check()
    banner.get_by_role("button", name="Save choices").click()
    page.wait_for_function("document.querySelector('script[src*=\"googletagmanager.com\"]') !== null")
    assert "journey_vid" in cookies(context)  # set by the response, no reload needed
    consent_updates = page.evaluate(
        "() => window.dataLayer.filter(e => e && e[0] === 'consent' && e[1] === 'update').map(e => e[2])")
    assert consent_updates[-1]["analytics_storage"] == "granted" and consent_updates[-1]["ad_storage"] == "denied"

    # The next page carries GA4 e-commerce events (view_item; add_to_cart after the redirect).
    page.goto(url)
    assert "view_item" in ecommerce_events(page)
    page.get_by_role("button", name=re.compile(r"Add to (cart|basket)", re.I)).first.click()
    page.wait_for_load_state()
    assert "add_to_cart" in ecommerce_events(page)
    assert list(ConsentRecord.objects.order_by("created_at").values_list("analytics", flat=True)) == [False, True]
    shot(page, "after-accepting-analytics")
    context.close()


def test_the_choice_works_without_javascript(browser, live_server, measured, fresh_visitor):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/journey/consent/?next=/basket/")
    page.get_by_label("Analytics").check()
    page.get_by_role("button", name="Save choices").click()
    page.wait_for_url(re.compile(r".*/basket/$"))
    assert "journey_vid" in cookies(context)
    assert page.locator('script[src*="googletagmanager.com"]').count() == 1
    context.close()


# Network: what the browser asks third parties for ----------------------------------------------------------------
CRISP_ID = "0f4c2d9e-3b1a-4c5d-8e7f-123456789abc"
TRACKERS = {"ga4": "www.googletagmanager.com", "hotjar": "static.hotjar.com", "chat": "client.crisp.chat"}


@pytest.fixture
def every_tracker(settings):
    settings.JOURNEY = {**settings.JOURNEY, "GA4_MEASUREMENT_ID": "G-TEST1234", "HOTJAR_SITE_ID": "1234567",
                        "CHAT_PROVIDER": "crisp", "CHAT_ID": CRISP_ID}


def watched_phone(browser, live_server):
    """A phone's browser whose requests to other hosts are recorded and answered locally (no internet needed):
    the trackers' hosts get an empty script, anything else external is refused."""
    context = browser.new_context(**PHONE_BROWSER)
    external = []

    def answer(route):
        url = route.request.url
        external.append(url)
        if urlsplit(url).hostname in TRACKERS.values():
            route.fulfill(status=200, body="", content_type="application/javascript")
        else:
            route.abort()

    context.route(lambda url: not url.startswith(live_server.url), answer)
    return context, external


def requested(external, *names):
    """Which of the trackers ``names`` the browser asked for."""
    hosts = {urlsplit(url).hostname for url in external}
    return {name for name in names if TRACKERS[name] in hosts}


def other_hosts(external):
    # Nothing but the trackers: the demo serves jQuery itself rather than from Google's CDN.
    return {urlsplit(url).hostname for url in external} - set(TRACKERS.values())


def wait_for_trackers(page, external, *names):
    for _ in range(50):
        if requested(external, *names) == set(names):
            return
        page.wait_for_timeout(100)


def uncovered(locator):
    """True when the element's centre, scrolled into view, is the element itself (nothing lies on top of it)."""
    locator.scroll_into_view_if_needed()
    return locator.evaluate("""el => { const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return r.width > 0 && r.height > 0 && (hit === el || el.contains(hit)); }""")


def test_after_reject_all_no_analytics_hotjar_or_chat_script_is_requested_and_the_buttons_are_free(
        browser, live_server, shot, fresh_visitor, every_tracker):
    product = create_product(title="Organic Wildflower Honey", price=Decimal("6.00"), num_in_stock=10)
    context, external = watched_phone(browser, live_server)
    page = context.new_page()
    page.goto(live_server.url + product.get_absolute_url())
    banner = page.get_by_role("dialog", name="Cookies and your privacy")
    assert banner.is_visible()
    page.wait_for_load_state("networkidle")
    assert requested(external, "ga4", "hotjar", "chat") == set()  # before a choice

    banner.get_by_role("button", name="Reject all").click()
    page.wait_for_function("document.getElementById('journey-consent').hidden")
    page.wait_for_load_state("networkidle")
    add = page.get_by_role("button", name=re.compile(r"Add to (cart|basket)", re.I)).first
    assert uncovered(add)
    shot(page, "product-page-after-reject")

    add.click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/basket/")
    checkout = page.get_by_role("link", name="Proceed to checkout")
    assert uncovered(checkout)
    shot(page, "basket-after-reject")
    checkout.click()
    page.wait_for_url(re.compile(r".*/checkout/$"))
    page.wait_for_load_state("networkidle")

    # Three pages later: still no GA4, Hotjar or chat, nor anything else external.
    assert requested(external, "ga4", "hotjar", "chat") == set() and other_hosts(external) == set()
    assert page.locator("script[data-journey-snippet=ga4], script[data-journey-snippet=hotjar], "
                        "script[data-journey-snippet=chat]").count() == 0
    assert "journey_vid" not in cookies(context)
    record = ConsentRecord.objects.get()
    assert (record.analytics, record.marketing) == (False, False)
    context.close()


def test_analytics_starts_ga4_and_hotjar_and_accept_all_starts_the_chat_without_a_reload(
        browser, live_server, shot, fresh_visitor, every_tracker):
    product = create_product(title="Organic Wildflower Honey", price=Decimal("6.00"), num_in_stock=10)
    context, external = watched_phone(browser, live_server)
    page = context.new_page()
    page.goto(live_server.url + product.get_absolute_url())
    banner = page.get_by_role("dialog", name="Cookies and your privacy")

    # Analytics only (under "Choose"): GA4's loader and Hotjar are requested at once; the chat waits for marketing
    # consent.
    banner.locator("summary").click()
    page.get_by_label("Analytics").check()
    banner.get_by_role("button", name="Save choices").click()
    wait_for_trackers(page, external, "ga4", "hotjar")
    page.wait_for_load_state("networkidle")
    assert requested(external, "ga4", "hotjar", "chat") == {"ga4", "hotjar"}
    assert any("gtag/js?id=G-TEST1234" in url for url in external)
    assert any("hotjar-1234567.js" in url for url in external)
    assert uncovered(page.get_by_role("button", name=re.compile(r"Add to (cart|basket)", re.I)).first)
    shot(page, "analytics-only")

    # The footer link, then "Accept all": the chat widget starts too, without a reload.
    page.get_by_role("link", name="Cookie settings").click()
    banner.get_by_role("button", name="Accept all").click()
    wait_for_trackers(page, external, "chat")
    assert requested(external, "chat") == {"chat"}
    assert page.evaluate("window.CRISP_WEBSITE_ID") == CRISP_ID

    # The next page renders all three for this visitor.
    before = len(external)
    page.goto(live_server.url + "/basket/")
    wait_for_trackers(page, external[before:], "ga4", "hotjar", "chat")
    assert requested(external[before:], "ga4", "hotjar", "chat") == {"ga4", "hotjar", "chat"}
    assert other_hosts(external) == set()
    assert [(r.analytics, r.marketing) for r in ConsentRecord.objects.order_by("created_at")] == [
        (True, False), (True, True)]
    shot(page, "accepted-all")
    context.close()
