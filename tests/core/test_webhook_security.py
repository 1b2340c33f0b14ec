"""Case C22: ESP tracking webhooks need the shop's secret, refuse bad bodies, and only ever suppress the recipient
of a message journey sent (looked up by the ESP's message id)."""

import base64
import json

import pytest
from django.conf import settings as django_settings
from django.test import Client

from journey.core import outbox
from journey.core.models import Message, Suppression, TrackingEvent
from tests.core.test_outbox import POSTMARK_EVENT, abandoned

pytestmark = pytest.mark.django_db

ESP_ID = "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"


def _auth(credentials):
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def post_postmark(payload, credentials=None, body=None):
    headers = {"HTTP_AUTHORIZATION": _auth(credentials)} if credentials else {}
    return Client().post("/anymail/postmark/tracking/", data=body if body is not None else json.dumps(payload),
                         content_type="application/json", **headers)


def bounce(email, message_id=ESP_ID, metadata=None):
    return dict(POSTMARK_EVENT["Bounce"], MessageID=message_id, Email=email, Metadata=metadata or {})


@pytest.fixture
def sent_message():
    message = abandoned("shopper@example.com")
    outbox.send_due()
    Message.objects.filter(pk=message.pk).update(esp_message_id=ESP_ID)
    return Message.objects.get(pk=message.pk)


def nothing_written():
    return not TrackingEvent.objects.exists() and not Suppression.objects.exists()


def test_the_demo_shop_routes_webhooks_with_a_secret_from_the_environment():
    assert django_settings.ANYMAIL.get("WEBHOOK_SECRET")


def test_a_webhook_without_basic_auth_is_refused_and_writes_nothing(sent_message):
    response = post_postmark(bounce("shopper@example.com"))
    assert response.status_code == 400
    assert nothing_written()


def test_a_webhook_with_the_wrong_basic_auth_is_refused_and_writes_nothing(sent_message):
    response = post_postmark(bounce("shopper@example.com"), credentials="anymail:guessed")
    assert response.status_code == 400
    assert nothing_written()


@pytest.mark.parametrize("body", ["{not json", "[]", json.dumps({"RecordType": "Bounce"}), "\xff\xfe"])
def test_a_webhook_with_a_bad_body_is_a_4xx_and_writes_nothing(sent_message, body):
    response = post_postmark(None, credentials=django_settings.ANYMAIL["WEBHOOK_SECRET"], body=body)
    assert 400 <= response.status_code < 500
    assert nothing_written()


def test_a_bounce_suppresses_the_recipient_of_the_message_journey_sent(sent_message):
    response = post_postmark(bounce("shopper@example.com"), credentials=django_settings.ANYMAIL["WEBHOOK_SECRET"])
    assert response.status_code == 200
    assert list(Suppression.objects.values_list("email", flat=True)) == ["shopper@example.com"]


def test_a_bounce_naming_another_address_for_our_message_suppresses_nobody(sent_message):
    response = post_postmark(bounce("victim@example.com"), credentials=django_settings.ANYMAIL["WEBHOOK_SECRET"])
    assert response.status_code == 200  # acknowledged, so the ESP does not retry, but ignored
    assert nothing_written()
    assert Message.objects.get(pk=sent_message.pk).bounced_at is None


def test_a_bounce_for_a_message_that_is_not_ours_suppresses_nobody(sent_message):
    response = post_postmark(bounce("victim@example.com", message_id="00000000-0000-0000-0000-000000000000"),
                             credentials=django_settings.ANYMAIL["WEBHOOK_SECRET"])
    assert response.status_code == 200
    assert nothing_written()


def test_metadata_cannot_point_a_bounce_at_another_message(sent_message):
    other = abandoned("other@example.com")
    response = post_postmark(
        bounce("other@example.com", message_id="00000000-0000-0000-0000-000000000000",
               metadata={"journey_message_id": str(other.pk)}),
        credentials=django_settings.ANYMAIL["WEBHOOK_SECRET"])
    assert response.status_code == 200
    assert nothing_written()


# The system check ---------------------------------------------------------------------------------------------
def check_ids():
    from journey import checks as journey_checks

    return [m.id for m in journey_checks.check_webhook_secret()]


def test_routed_tracking_webhooks_without_a_secret_in_production_are_a_warning(settings):
    settings.DEBUG = False
    settings.ANYMAIL = {}
    assert check_ids() == ["journey.W012"]
    settings.ANYMAIL = {"WEBHOOK_SECRET": ""}
    assert check_ids() == ["journey.W012"]


def test_the_webhook_secret_check_is_quiet_with_a_secret_in_debug_or_without_webhook_urls(settings):
    settings.DEBUG = False
    settings.ANYMAIL = {"WEBHOOK_SECRET": "esp:long-random-secret"}
    assert check_ids() == []
    settings.ANYMAIL = {"WEBHOOK_SECRET": ["old:secret", "new:secret"]}  # a rotation: anymail accepts a list
    assert check_ids() == []
    settings.ANYMAIL = {}
    settings.DEBUG = True
    assert check_ids() == []
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.minimal_shop.urls"  # a shop without anymail's webhook URLs
    assert check_ids() == []
