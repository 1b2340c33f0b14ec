"""Throttles count per client: behind a proxy (``JOURNEY["CLIENT_IP_HEADER"]``) the forwarded address, as events do,
so shoppers sharing the proxy's REMOTE_ADDR do not share one counter."""

import pytest
from django.test import Client
from django.urls import reverse

from journey.core.throttle import Throttle

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.1"


@pytest.fixture
def behind_proxy(settings):
    settings.JOURNEY = {**settings.JOURNEY, "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR", "RESTORE_RATE_LIMIT": (2, 600)}


def test_a_throttle_keys_on_the_forwarded_client_address_behind_a_proxy(rf, behind_proxy):
    throttle = Throttle("test", "RESTORE_RATE_LIMIT")
    mallory = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9")
    alice = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")
    throttle.hit(mallory)
    throttle.hit(mallory)
    assert throttle.limited(mallory)
    assert not throttle.limited(alice)


def test_a_forged_forwarded_for_entry_does_not_escape_the_throttle(rf, behind_proxy):
    """The proxy appends the address it saw: the entries before it are whatever the client sent."""
    throttle = Throttle("test", "RESTORE_RATE_LIMIT")
    for forged in ("1.1.1.1", "2.2.2.2"):
        throttle.hit(rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.9"))
    assert throttle.limited(rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="3.3.3.3, 203.0.113.9"))


def test_two_trusted_proxies_take_the_second_entry_from_the_right(rf, behind_proxy, settings):
    from journey.core.events import client_ip

    settings.JOURNEY = {**settings.JOURNEY, "CLIENT_IP_PROXY_COUNT": 2}
    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9, 10.0.0.2")
    assert client_ip(request) == "203.0.113.9"


def test_without_a_proxy_header_setting_the_throttle_keys_on_remote_addr(rf, settings):
    settings.JOURNEY = {**settings.JOURNEY, "RESTORE_RATE_LIMIT": (1, 600)}
    throttle = Throttle("test", "RESTORE_RATE_LIMIT")
    throttle.hit(rf.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4"))
    assert throttle.limited(rf.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="5.6.7.8"))  # forged header
    assert not throttle.limited(rf.get("/", REMOTE_ADDR="198.51.100.7"))


def test_bad_restore_links_from_one_shopper_behind_a_proxy_do_not_lock_out_the_others(behind_proxy):
    url = reverse("journey:restore-basket", args=["not-a-token"])
    mallory = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9")
    for _ in range(3):
        mallory.get(url)
    assert mallory.get(url).status_code == 429
    assert Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7").get(url).status_code == 404


def test_related_clicks_are_rate_limited_per_forwarded_client(behind_proxy, settings):
    url = reverse("journey:related-click")
    data = {"kind": 1, "product": 1, "position": 1}
    mallory = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9")
    answers = {mallory.post(url, {**data, "kind": 999}).status_code for _ in range(61)}
    assert 429 in answers
    assert Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7").post(url, {**data, "kind": 999}) \
        .status_code == 400
