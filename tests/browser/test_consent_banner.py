"""The consent banner in a real browser (headless Chromium): nothing non-essential before a choice, nothing after
"reject all", GA4 (with its e-commerce events) and the visitor cookie after accepting analytics — on a phone."""

import re
from decimal import Decimal

import pytest
from oscar.test.factories import create_product

from journey.core.consent_models import ConsentRecord

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
