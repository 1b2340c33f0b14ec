"""Consent: the banner, the stored choice (cookie + record with wording and version), Google consent mode, and no
visitor cookie or non-essential snippet before consent."""

import json
import re

import pytest
from django.urls import reverse
from oscar.test.factories import UserFactory

from journey.core import consent
from journey.core.consent_models import ConsentRecord
from journey.core.models import JourneyEvent

pytestmark = pytest.mark.django_db
CRISP = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def tools(settings):
    settings.JOURNEY = {**settings.JOURNEY, "GA4_MEASUREMENT_ID": "G-TEST1234", "HOTJAR_SITE_ID": "1234567",
                        "CHAT_PROVIDER": "crisp", "CHAT_ID": CRISP}


def choose(client, action, **boxes):
    return client.post(reverse("journey:consent"), {"action": action, "next": "/", **boxes})


def snippets(html):
    return {name for name in ("googletagmanager.com/gtag", "static.hotjar.com", "client.crisp.chat") if name in html}


def test_a_fresh_visitor_sees_the_banner_with_nothing_ticked_and_no_snippet_or_visitor_cookie(shopper, product,
                                                                                             tools):
    response = shopper.get(product.get_absolute_url())
    html = response.content.decode()
    banner = re.search(r'<div id="journey-consent".*?</form>', html, re.S).group(0)
    assert " hidden" not in banner.split(">")[0]
    assert 'name="analytics"' in banner and 'name="marketing"' in banner
    assert not re.search(r'name="(analytics|marketing)"[^>]*checked', banner)
    assert [b for b in ("reject", "save", "accept") if f'value="{b}"' in banner] == ["reject", "save", "accept"]
    assert snippets(html) == set()
    assert '"consent","default"' in html and '"analytics_storage":"denied"' in html
    assert "journey_vid" not in response.cookies
    event = JourneyEvent.objects.get(kind="product_view")
    assert event.visitor_id.startswith("d")  # no cookie: a daily id


def test_rejecting_stores_the_choice_and_still_sets_no_visitor_cookie(shopper, product, tools):
    response = choose(shopper, "reject")
    assert response.status_code == 302 and response["Location"] == "/"
    assert "journey_vid" not in response.cookies
    record = ConsentRecord.objects.get()
    assert (record.analytics, record.marketing, record.version, record.source) == (False, False, "1", "page")
    assert "Cookies and your privacy" in record.wording and "Analytics:" in record.wording
    response = shopper.get(product.get_absolute_url())
    html = response.content.decode()
    assert snippets(html) == set() and "journey_vid" not in response.cookies
    assert re.search(r'<div id="journey-consent"[^>]* hidden', html)  # decided: closed, reachable from the footer
    assert "Cookie settings" in html


def test_accepting_analytics_sets_the_visitor_cookie_and_renders_ga4_and_hotjar_but_not_the_chat(
        shopper, product, tools):
    response = choose(shopper, "save", analytics="1")
    visitor = response.cookies["journey_vid"].value
    assert visitor.startswith("v") and response.cookies["journey_vid"]["httponly"]
    assert ConsentRecord.objects.get().visitor_id == visitor
    html = shopper.get(product.get_absolute_url()).content.decode()
    assert snippets(html) == {"googletagmanager.com/gtag", "static.hotjar.com"}
    assert '"consent","update",{"analytics_storage":"granted","ad_storage":"denied"' in html
    assert JourneyEvent.objects.filter(kind="product_view").get().visitor_id == visitor


def test_accept_all_renders_every_snippet(shopper, product, tools):
    choose(shopper, "accept")
    html = shopper.get(product.get_absolute_url()).content.decode()
    assert snippets(html) == {"googletagmanager.com/gtag", "static.hotjar.com", "client.crisp.chat"}
    assert '"ad_storage":"granted"' in html


def test_the_chat_can_wait_for_analytics_instead(shopper, product, tools, settings):
    settings.JOURNEY = {**settings.JOURNEY, "CHAT_CONSENT_CATEGORY": "analytics"}
    choose(shopper, "save", analytics="1")
    assert "client.crisp.chat" in shopper.get(product.get_absolute_url()).content.decode()


def test_the_banner_script_gets_json_with_the_snippets_to_start_without_a_reload(shopper, tools):
    response = shopper.post(reverse("journey:consent"), {"action": "save", "analytics": "1"},
                            HTTP_ACCEPT="application/json")
    data = json.loads(response.content)
    assert data["consent"] == {"analytics": True, "marketing": False}
    assert data["gtag"] == {"analytics_storage": "granted", "ad_storage": "denied", "ad_user_data": "denied",
                            "ad_personalization": "denied"}
    assert snippets(data["snippets"]) == {"googletagmanager.com/gtag", "static.hotjar.com"}
    assert "journey_vid" in response.cookies and ConsentRecord.objects.get().source == "banner"


def test_withdrawing_analytics_removes_the_visitor_and_analytics_cookies(shopper, product, tools):
    choose(shopper, "accept")
    shopper.cookies["_ga"] = "GA1.1.123.456"
    response = choose(shopper, "reject")
    assert response.cookies["journey_vid"]["max-age"] == 0 and response.cookies["_ga"]["max-age"] == 0
    assert list(ConsentRecord.objects.order_by("created_at").values_list("analytics", flat=True)) == [True, False]


def test_a_visitor_cookie_without_consent_is_removed(shopper, product):
    shopper.cookies["journey_vid"] = "vforged"
    response = shopper.get(product.get_absolute_url())
    assert response.cookies["journey_vid"]["max-age"] == 0
    assert JourneyEvent.objects.get().visitor_id != "vforged"


def test_a_new_wording_version_asks_again(shopper, product, tools, settings):
    choose(shopper, "accept")
    settings.JOURNEY = {**settings.JOURNEY, "CONSENT_VERSION": "2"}
    html = shopper.get(product.get_absolute_url()).content.decode()
    assert snippets(html) == set() and not re.search(r'<div id="journey-consent"[^>]* hidden', html)


def test_the_choice_of_a_signed_in_customer_is_recorded_with_the_user_and_a_truncated_address(shopper):
    user = UserFactory()
    shopper.force_login(user)
    shopper.post(reverse("journey:consent"), {"action": "reject"}, REMOTE_ADDR="203.0.113.77")
    record = ConsentRecord.objects.get()
    assert record.user_id == user.pk and record.ip == "203.0.113.0"


def test_addresses_are_truncated_ipv4_to_24_and_ipv6_to_48_bits():
    assert consent.truncate_ip("192.168.17.201") == "192.168.17.0"
    assert consent.truncate_ip("2001:db8:abcd:12:1:2:3:4") == "2001:db8:abcd::"
    assert consent.truncate_ip("not an ip") is None


def test_the_page_works_without_javascript_and_keeps_the_previous_choice_ticked(shopper):
    choose(shopper, "save", marketing="1")
    html = shopper.get(reverse("journey:consent") + "?next=/basket/").content.decode()
    assert re.search(r'name="marketing"[^>]*checked', html) and not re.search(r'name="analytics"[^>]*checked', html)
    assert 'value="/basket/"' in html
    assert '<label for="journey-consent-analytics">' in html


def test_an_unknown_action_is_a_clear_400_and_an_outside_next_is_ignored(shopper):
    response = shopper.post(reverse("journey:consent"), {"action": "maybe"})
    assert response.status_code == 400 and b"accept, reject or save" in response.content
    response = choose(shopper, "reject", next="https://evil.example.com/")
    assert response["Location"] == "/"
    assert not ConsentRecord.objects.filter(analytics=True).exists()


def test_a_forged_or_garbled_consent_cookie_counts_as_no_choice(shopper, product, tools):
    shopper.cookies["journey_consent"] = "1:xx:abc"
    assert snippets(shopper.get(product.get_absolute_url()).content.decode()) == set()
    assert consent.parse("1:10:abc").analytics and not consent.parse("2:10:abc").decided


def test_the_consent_post_needs_the_csrf_token(product):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("journey:consent"), {"action": "accept"}).status_code == 403
    assert not ConsentRecord.objects.exists()


def test_the_banner_carries_each_pages_own_address_escaped_and_its_own_csrf_token(shopper, product):
    first = shopper.get(product.get_absolute_url() + '?q="><script>x</script>&sort=price').content.decode()
    second = shopper.get(product.get_absolute_url() + "?page=2").content.decode()

    def form(html):
        return re.search(r'<div id="journey-consent".*?</form>', html, re.S).group(0)

    assert "<script>x" not in form(first)
    assert 'name="next" value="' + product.get_absolute_url() + '?q=%22%3E%3Cscript%3Ex%3C/script%3E&amp;sort=price"' \
        in form(first)
    assert 'name="next" value="' + product.get_absolute_url() + '?page=2"' in form(second)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form(second)).group(1)
    assert "placeholder" not in token and "journeyconsent" not in token and len(token) == 64
    assert shopper.post(reverse("journey:consent"), {"action": "reject", "next": "/",
                                                      "csrfmiddlewaretoken": token}).status_code == 302
