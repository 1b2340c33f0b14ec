"""Token URLs stay first-party: landings store a path without its query (and nothing of a secret page), and pages
reached through a token URL load no third-party script even with consent."""

import json

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from oscar.test.factories import UserFactory, create_order

from journey.core import outbox
from journey.core.models import JourneyEvent
from tests.core.test_consent import choose, snippets, tools  # noqa: F401 - the fixture
from tests.core.test_outbox import abandoned

pytestmark = pytest.mark.django_db
WEBMAIL = "https://mail.example.net/mail/u/0/#inbox"
TOKEN_PARTS = ("set-password", "abc123secret")


def password_reset_url():
    user = UserFactory(email="ana@example.com")
    return reverse("password-reset-confirm", kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                                                     "token": default_token_generator.make_token(user)})


def order_status_url():
    order = create_order()
    return reverse("customer:anon-order", kwargs={"order_number": order.number,
                                                  "hash": order.verification_hash()})


def landings():
    return list(JourneyEvent.objects.filter(kind="landing"))


def test_a_landing_stores_the_path_without_the_query_and_only_campaign_parameters(shopper, product):
    url = product.get_absolute_url()
    shopper.get(url + "?utm_source=news&utm_medium=email&gclid=g1&email=ana%40example.com&token=s3cret",
                HTTP_REFERER=WEBMAIL)
    (landing,) = landings()
    assert landing.data["path"] == url
    assert set(landing.data) == {"path", "utm_source", "utm_medium", "gclid", "referrer_host"}
    assert "s3cret" not in json.dumps(landing.data) and "ana" not in json.dumps(landing.data)


@pytest.mark.parametrize("make_url", [password_reset_url, order_status_url], ids=["password-reset", "order-status"])
def test_a_secret_page_opened_from_a_webmail_stores_no_path(shopper, make_url):
    url = make_url()
    shopper.get(url + "?utm_source=news", HTTP_REFERER=WEBMAIL)
    stored = json.dumps([(e.data, e.ref) for e in JourneyEvent.objects.all()])
    secret = url.rstrip("/").rsplit("/", 1)[-1]
    assert secret not in stored
    assert all("path" not in e.data for e in landings())


def test_secret_urls_are_matched_by_url_name_and_by_pattern(settings):
    from journey.core import secret_urls

    assert secret_urls.is_secret_path(password_reset_url())
    assert secret_urls.is_secret_path(reverse("journey:unsubscribe", args=["tok"]))
    assert not secret_urls.is_secret_path("/basket/")
    settings.JOURNEY = {**settings.JOURNEY, "SECRET_URLS": (r"^/basket/",)}
    assert secret_urls.is_secret_path("/basket/") and not secret_urls.is_secret_path(password_reset_url())


# Third-party scripts on token pages ---------------------------------------------------------------------------
def token_pages():
    message = abandoned("shopper@example.com")
    outbox.send_due()
    return {
        "unsubscribe": reverse("journey:unsubscribe", args=[outbox.unsubscribe_token(message)]),
        "restore (bad token)": reverse("journey:restore-basket", args=["not-a-token"]),
        "password reset": password_reset_url(),
        "order status": order_status_url(),
    }


def test_token_pages_load_no_third_party_script_even_with_consent(shopper, product, tools):  # noqa: F811
    choose(shopper, "accept")
    assert snippets(shopper.get(product.get_absolute_url()).content.decode()) == {
        "googletagmanager.com/gtag", "static.hotjar.com", "client.crisp.chat"}
    for name, url in token_pages().items():
        response = shopper.get(url, follow=True)
        assert snippets(response.content.decode()) == set(), name
        assert "G-TEST1234" not in response.content.decode(), name


def test_token_pages_send_no_referrer_to_the_next_page(shopper, tools):  # noqa: F811
    for name, url in token_pages().items():
        response = shopper.get(url)
        assert response["Referrer-Policy"] == "no-referrer", name


def test_accepting_the_banner_on_a_token_page_starts_no_third_party_script(shopper, tools):  # noqa: F811
    response = shopper.post(reverse("journey:consent"), {"action": "accept", "next": password_reset_url()},
                            HTTP_ACCEPT="application/json")
    assert snippets(json.loads(response.content)["snippets"]) == set()
