"""The shared outbox: idempotent scheduling, claiming, retries, suppression, unsubscribe, ESP tracking webhooks."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from journey.core import outbox, suppression
from journey.core.models import Message, Suppression, TrackingEvent
from journey.recovery import services
from journey.recovery.models import BasketActivity
from journey.test.factories import basket_with, default_sequence, make_idle
from tests.race import on_postgresql, run_at_once

pytestmark = pytest.mark.django_db
State = Message.State


def abandoned(email="shopper@example.com"):
    default_sequence()  # transactional tests flush the migration's rows
    basket = basket_with()
    services.capture_email(basket, email, BasketActivity.Source.CHECKOUT)
    now = timezone.now()
    make_idle(basket, 61, now)
    services.scan(now)
    return Message.objects.get(subject_key__startswith=f"recovery:basket:{basket.pk}:", step=1)


def test_scheduling_the_same_subject_and_step_twice_keeps_one_row():
    basket = basket_with()
    activity = services.capture_email(basket, "a@example.com", BasketActivity.Source.CHECKOUT)
    args = {"kind": services.SAVED_BASKET_KIND, "subject_key": "k", "step": 0, "to_email": "a@example.com",
            "due_at": timezone.now(), "context": {"activity_id": activity.pk}}
    first, created = outbox.schedule(**args)
    second, created_again = outbox.schedule(**args)
    assert created and not created_again and first.pk == second.pk


def test_a_claimed_message_is_not_claimed_again():
    message = abandoned()
    assert outbox.claim_due(10) == [message.pk]
    assert outbox.claim_due(10) == []
    assert Message.objects.get(pk=message.pk).state == State.SENDING


def test_a_batch_delivered_twice_sends_each_mail_once():
    message = abandoned()
    ids = outbox.claim_due(10)
    outbox.send_claimed(ids)
    outbox.send_claimed(ids)  # the broker delivered the task again
    assert len(mail.outbox) == 1
    assert Message.objects.get(pk=message.pk).state == State.SENT


@pytest.mark.django_db(transaction=True)
@on_postgresql
def test_two_concurrent_senders_send_each_mail_once():
    for i in range(20):
        abandoned(f"shopper{i}@example.com")
    run_at_once(2, lambda _i: outbox.send_due())
    assert len(mail.outbox) == 20
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"shopper{i}@example.com" for i in range(20))
    assert Message.objects.filter(state=State.SENT).count() == 20


def test_a_server_error_at_the_esp_is_retried_with_backoff_then_failed(scripted_esp, settings):
    settings.JOURNEY = {**settings.JOURNEY, "SEND_MAX_ATTEMPTS": 3, "SEND_RETRY_BASE_SECONDS": 60}
    message = abandoned()
    scripted_esp[message.to_email] = [503]
    now = timezone.now()
    outbox.send_due(now=now)
    row = Message.objects.get(pk=message.pk)
    assert row.state == State.SCHEDULED and row.attempts == 1 and "503" in row.last_error
    assert timedelta(seconds=59) < row.due_at - timezone.now() <= timedelta(seconds=61)
    outbox.send_due(now=row.due_at + timedelta(seconds=1))
    row.refresh_from_db()
    assert row.attempts == 2 and timedelta(seconds=119) < row.due_at - timezone.now() <= timedelta(seconds=121)
    outbox.send_due(now=row.due_at + timedelta(seconds=1))
    row.refresh_from_db()
    assert row.state == State.FAILED and row.attempts == 3 and "gave up after 3 attempts" in row.close_reason
    assert not Suppression.objects.exists()


def test_a_transient_error_then_success_sends_once(scripted_esp):
    message = abandoned()
    scripted_esp[message.to_email] = [502, "sent"]
    outbox.send_due()
    row = Message.objects.get(pk=message.pk)
    outbox.send_due(now=row.due_at + timedelta(seconds=1))
    row.refresh_from_db()
    assert row.state == State.SENT and row.attempts == 2


def test_a_refused_address_fails_at_once_and_is_suppressed(scripted_esp):
    message = abandoned("nobody@invalid.example")
    scripted_esp[message.to_email] = ["invalid"]
    outbox.send_due()
    row = Message.objects.get(pk=message.pk)
    assert row.state == State.FAILED and row.attempts == 1
    assert Suppression.objects.get(email="nobody@invalid.example").reason == Suppression.Reason.INVALID
    # the rest of that sequence is cancelled too
    assert not Message.objects.filter(to_email="nobody@invalid.example", state=State.SCHEDULED).exists()


def test_a_client_error_at_the_esp_is_not_retried(scripted_esp):
    message = abandoned()
    scripted_esp[message.to_email] = [422]
    outbox.send_due()
    assert Message.objects.get(pk=message.pk).state == State.FAILED


def test_a_suppressed_address_gets_nothing():
    message = abandoned()
    Suppression.objects.create(email=message.to_email, reason=Suppression.Reason.MANUAL)
    outbox.send_due()
    assert mail.outbox == []
    assert Message.objects.get(pk=message.pk).state == State.SUPPRESSED


def test_the_sweeper_requeues_what_a_dead_worker_left_before_the_esp_call(settings):
    settings.JOURNEY = {**settings.JOURNEY, "SEND_STALE_AFTER_SECONDS": 60}
    message = abandoned()
    now = timezone.now()
    outbox.claim_due(10)  # claimed by a worker that then died, five minutes ago
    Message.objects.filter(pk=message.pk).update(claimed_at=now - timedelta(minutes=5))
    assert outbox.requeue_stale(now=now) == (1, 0)
    outbox.send_due()
    assert len(mail.outbox) == 1 and Message.objects.get(pk=message.pk).state == State.SENT


def test_a_message_interrupted_during_the_esp_call_is_never_sent_twice(settings):
    settings.JOURNEY = {**settings.JOURNEY, "SEND_STALE_AFTER_SECONDS": 60}
    message = abandoned()
    now = timezone.now()
    outbox.claim_due(10)
    Message.objects.filter(pk=message.pk).update(claimed_at=now - timedelta(minutes=5),
                                                 esp_call_started_at=now - timedelta(minutes=5))
    assert outbox.requeue_stale(now=now) == (0, 1)
    outbox.send_due()
    assert mail.outbox == []
    assert "not sent again" in Message.objects.get(pk=message.pk).close_reason


def unsubscribe_url():
    header = mail.outbox[0].extra_headers["List-Unsubscribe"]
    return header.strip("<>").replace("http://testserver", "")


def test_one_click_unsubscribe_works_by_cookieless_post_and_not_by_get():
    abandoned()
    outbox.send_due()
    url = unsubscribe_url()
    mail_client = Client(enforce_csrf_checks=True)  # a mail client: no cookies, no CSRF token
    page = mail_client.get(url)
    assert page.status_code == 200 and b"shopper@example.com" in page.content
    assert not Suppression.objects.exists()  # GET only asks
    response = mail_client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Suppression.objects.get().reason == Suppression.Reason.UNSUBSCRIBED
    assert not Message.objects.filter(state=State.SCHEDULED).exists()
    assert Message.objects.filter(unsubscribed_at__isnull=False).count() == 1


def test_an_unknown_unsubscribe_link_is_a_friendly_404():
    assert Client().post("/journey/u/nope/").status_code == 404


POSTMARK_EVENT = {
    "Delivery": {"RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound", "Recipient": None,
                 "Tag": "", "DeliveredAt": "2026-11-22T10:00:00Z", "Details": "Test delivery webhook details",
                 "Metadata": {}},
    "Open": {"RecordType": "Open", "MessageStream": "outbound", "FirstOpen": True, "Client": {}, "OS": {},
             "Platform": "WebMail", "UserAgent": "Mozilla", "ReadSeconds": 5, "Geo": {}, "Recipient": None,
             "ReceivedAt": "2026-11-22T10:05:00Z", "Tag": "", "Metadata": {}},
    "Bounce": {"RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1,
               "Name": "Hard bounce", "Tag": "", "MessageStream": "outbound", "Description": "The server was unable "
               "to deliver your message (ex: unknown user, mailbox not found).", "Details": "Test bounce details",
               "Email": None, "From": "shop@example.com", "BouncedAt": "2026-11-22T10:10:00Z", "DumpAvailable": True,
               "Inactive": True, "CanActivate": True, "Subject": "Test subject", "Content": "", "Metadata": {}},
}


def postmark(record, message_id, email):
    payload = dict(POSTMARK_EVENT[record], MessageID=message_id)
    payload["Email" if record == "Bounce" else "Recipient"] = email
    return Client().post("/anymail/postmark/tracking/", data=json.dumps(payload), content_type="application/json",
                         HTTP_AUTHORIZATION="Basic " + __import__("base64").b64encode(b"hook:secret").decode())


@pytest.fixture
def postmark_webhooks(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}


def test_esp_tracking_events_update_the_message_once_and_never_downgrade(postmark_webhooks):
    message = abandoned()
    outbox.send_due()
    Message.objects.filter(pk=message.pk).update(esp_message_id="b7bc2f4a-e38e-4336-af7d-e6c392c2f817")
    esp_id, email = "b7bc2f4a-e38e-4336-af7d-e6c392c2f817", message.to_email
    assert postmark("Delivery", esp_id, email).status_code == 200
    assert postmark("Open", esp_id, email).status_code == 200
    assert postmark("Open", esp_id, email).status_code == 200  # the ESP retried the webhook
    row = Message.objects.get(pk=message.pk)
    assert row.esp_status == "opened" and row.delivered_at and row.opened_at
    assert TrackingEvent.objects.filter(message=row, event_type="opened").count() == 1
    assert postmark("Bounce", esp_id, email).status_code == 200
    assert postmark("Delivery", esp_id, email).status_code == 200  # late delivery report after the bounce
    row.refresh_from_db()
    assert row.esp_status == "bounced" and row.bounced_at
    assert Suppression.objects.get(email=email).reason == Suppression.Reason.HARD_BOUNCE


def test_suppress_keeps_the_first_reason():
    suppression.suppress("A@Example.com", Suppression.Reason.UNSUBSCRIBED)
    suppression.suppress("a@example.com", Suppression.Reason.HARD_BOUNCE)
    assert Suppression.objects.get().reason == Suppression.Reason.UNSUBSCRIBED
    assert suppression.is_suppressed(" a@EXAMPLE.com ")
