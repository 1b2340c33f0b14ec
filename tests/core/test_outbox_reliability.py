"""Reliability cases of the outbox that need no worker process (issue 13's ids in each test's docstring)."""

import base64
import json
import logging
import socket
from decimal import Decimal
from email import message_from_bytes, policy

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oscar.test.factories import create_order, create_product

from journey.core import outbox
from journey.core.models import Message, Suppression
from journey.recovery import services
from journey.recovery.models import BasketActivity
from journey.test.factories import basket_with, default_sequence, make_idle
from tests.core.test_outbox import POSTMARK_EVENT, abandoned, postmark

pytestmark = pytest.mark.django_db
State = Message.State


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker_down():
    """The shop's Celery app pointed at a Redis that is not there (nothing listens on the port)."""
    from shop.celery import app

    saved = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    app.conf.broker_transport_options = {}
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.broker_url, app.conf.broker_transport_options = saved
    app._pool = None
    app.amqp._producer_pool = None


def test_a7_redis_down_when_the_nudge_is_published_the_shopper_gets_the_page_and_the_send_job_sends_the_mail(
        client, broker_down, django_capture_on_commit_callbacks, caplog):
    """A7: the "email me my basket" nudge cannot reach the broker: the shopper's request still succeeds, the row
    stays scheduled, and the periodic send job sends it."""
    product = create_product(price=Decimal("4.50"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    with caplog.at_level(logging.WARNING, logger="journey.core.outbox"), \
            django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("journey:email-basket"), {"email": "shopper@example.com", "consent": "on"},
                               follow=True)
    assert response.status_code == 200
    assert callbacks and "could not enqueue message" in caplog.text  # the publish was tried, and failed
    row = Message.objects.get(kind=services.SAVED_BASKET_KIND)
    assert row.state == State.SCHEDULED and mail.outbox == []
    outbox.send_due()
    assert Message.objects.get(pk=row.pk).state == State.SENT
    assert [m.to for m in mail.outbox] == [["shopper@example.com"]]


def test_a8_a_transaction_rolled_back_after_scheduling_leaves_no_row_no_task_and_no_mail(
        django_capture_on_commit_callbacks):
    """A8: the mail was scheduled (and its nudge registered) inside a transaction that then rolled back."""
    basket = basket_with()
    activity = services.capture_email(basket, "shopper@example.com", BasketActivity.Source.BASKET_FORM)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError), \
            transaction.atomic():
        assert services.send_saved_basket(activity) is not None
        raise RuntimeError("the request failed after scheduling")
    assert callbacks == []  # no task is published for a rolled-back row
    assert not Message.objects.exists()
    outbox.send_due()
    assert mail.outbox == []


@pytest.fixture
def postmark_webhooks(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}


def sent_message(email):
    message = abandoned(email)
    outbox.send_due()
    esp_id = f"00000000-0000-4000-8000-{message.pk:012d}"
    Message.objects.filter(pk=message.pk).update(esp_message_id=esp_id)
    return message, esp_id


def test_b14_a_spam_complaint_suppresses_the_address_and_cancels_its_mails(postmark_webhooks):
    """B14 (complaint)."""
    message, esp_id = sent_message("angry@example.com")
    assert Message.objects.filter(to_email="angry@example.com", state=State.SCHEDULED).count() == 2
    payload = {"RecordType": "SpamComplaint", "ID": 42, "Type": "SpamComplaint", "TypeCode": 512,
               "Name": "Spam complaint", "Tag": "", "MessageID": esp_id, "MessageStream": "outbound",
               "Description": "The subscriber explicitly marked this message as spam.", "Details": "",
               "Email": "angry@example.com", "From": "shop@example.com", "BouncedAt": "2026-11-22T10:10:00Z",
               "DumpAvailable": False, "Inactive": True, "CanActivate": False, "Subject": "Test", "Metadata": {}}
    response = Client().post("/anymail/postmark/tracking/", data=json.dumps(payload),
                             content_type="application/json",
                             HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"hook:secret").decode())
    assert response.status_code == 200
    assert Suppression.objects.get(email="angry@example.com").reason == Suppression.Reason.COMPLAINT
    assert Message.objects.get(pk=message.pk).esp_status == "complained"
    assert not Message.objects.filter(to_email="angry@example.com", state=State.SCHEDULED).exists()


def test_b14_a_soft_bounce_does_not_suppress_the_address(postmark_webhooks):
    """B14 (soft bounce): a full mailbox is transient; the next mails of the sequence still go."""
    message, esp_id = sent_message("full@example.com")
    soft = dict(POSTMARK_EVENT["Bounce"], ID=4096, Type="SoftBounce", TypeCode=4096, Name="Soft bounce",
                Description="The server could not temporarily deliver your message (ex: Message is delayed due "
                            "to network troubles).", Inactive=False)
    response = Client().post("/anymail/postmark/tracking/",
                             data=json.dumps(dict(soft, MessageID=esp_id, Email="full@example.com")),
                             content_type="application/json",
                             HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"hook:secret").decode())
    assert response.status_code == 200
    assert not Suppression.objects.exists()
    assert Message.objects.filter(to_email="full@example.com", state=State.SCHEDULED).count() == 2
    assert postmark("Bounce", esp_id, "full@example.com").status_code == 200  # then a hard bounce: suppressed
    assert Suppression.objects.get().reason == Suppression.Reason.HARD_BOUNCE


def test_b20_non_ascii_names_and_decimal_amounts_go_through_the_outbox_exactly():
    """B20: a product called "Café «Zoë» — ñandú" at 1234.56 (3 of them) in a basket of José."""
    default_sequence()
    product = create_product(title="Café «Zoë» — ñandú", price=Decimal("1234.56"), num_in_stock=10)
    basket = basket_with([product], quantity=3)
    services.capture_email(basket, "jose@example.com", BasketActivity.Source.CHECKOUT)
    now = timezone.now()
    make_idle(basket, 61, now)
    services.scan(now)
    outbox.send_due()
    [sent] = mail.outbox
    html = sent.alternatives[0][0]
    assert "Café «Zoë» — ñandú" in sent.body and "3,703.68" in sent.body
    assert "Café «Zoë» — ñandú" in html or "Café &laquo;Zoë&raquo; — ñandú" in html
    # The MIME message an SMTP server or an ESP gets carries the same text, properly encoded.
    parsed = message_from_bytes(sent.message().as_bytes(), policy=policy.default)
    assert "Café «Zoë» — ñandú" in parsed.get_body(("plain",)).get_content()
    row = Message.objects.get(state=State.SENT)
    assert "Café «Zoë» — ñandú" in row.body_text and "3,703.68" in row.body_text


def test_b21_one_click_unsubscribe_is_offered_only_with_an_https_link(settings):
    """B21: RFC 8058 — List-Unsubscribe-Post only beside an https List-Unsubscribe URI."""
    settings.JOURNEY = {**settings.JOURNEY, "SITE_URL": "https://shop.example.com"}
    abandoned("secure@example.com")
    outbox.send_due()
    settings.JOURNEY = {**settings.JOURNEY, "SITE_URL": "http://shop.example.com"}
    abandoned("plain@example.com")
    outbox.send_due()
    by_address = {m.to[0]: m.extra_headers for m in mail.outbox}
    secure, plain = by_address["secure@example.com"], by_address["plain@example.com"]
    assert secure["List-Unsubscribe"].startswith("<https://shop.example.com/journey/u/")
    assert secure["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert plain["List-Unsubscribe"].startswith("<http://shop.example.com/journey/u/")  # the link still works…
    assert "List-Unsubscribe-Post" not in plain  # … but mail clients are not told to POST to a plain-http URL


def test_b12_the_send_time_recheck_alone_stops_the_mail_of_a_customer_who_ordered():
    """B12: the order_placed receiver never ran (its on-commit work is not executed here): the activity still says
    "in sequence", and the recheck at send time alone cancels the mail."""
    message = abandoned("buyer@example.com")
    create_order(basket=basket_with(), guest_email="buyer@example.com")
    activity = BasketActivity.objects.get(pk=message.context["activity_id"])
    assert activity.state == BasketActivity.State.IN_SEQUENCE  # no receiver acted
    outbox.send_due()
    assert mail.outbox == []
    row = Message.objects.get(pk=message.pk)
    assert row.state == State.CANCELLED and row.close_reason == "the customer has ordered since"


@pytest.mark.parametrize("status", ["Frozen", "Merged"])
def test_b13_a_frozen_or_merged_basket_gets_no_recovery_mail(status):
    """B13: frozen (in payment) or merged into the customer's basket on sign-in — after the scan or before it."""
    from journey.recovery.services import Basket

    message = abandoned("after@example.com")
    Basket.objects.filter(pk=BasketActivity.objects.get(pk=message.context["activity_id"]).basket_id).update(
        status=status)
    outbox.send_due()
    assert Message.objects.get(pk=message.pk).state == State.CANCELLED

    default_sequence()
    before = basket_with()
    services.capture_email(before, "before@example.com", BasketActivity.Source.CHECKOUT)
    Basket.objects.filter(pk=before.pk).update(status=status)
    now = timezone.now()
    make_idle(before, 61, now)
    services.scan(now)
    outbox.send_due()
    assert not Message.objects.filter(to_email="before@example.com", state=State.SENT).exists()
    assert mail.outbox == []


@pytest.mark.parametrize(("store_zone", "site_zone", "evening", "resume_utc"), [
    # Europe/Madrid springs forward on 29 March 2026 (CET → CEST): 08:00 the next morning is 06:00 UTC, not 07:00.
    (None, "Europe/Madrid", (2026, 3, 28, 22, 30), (2026, 3, 29, 6, 0)),  # no STORE_TIME_ZONE: TIME_ZONE
    ("Europe/Madrid", "UTC", (2026, 10, 24, 22, 30), (2026, 10, 25, 7, 0)),  # falls back on 25 October: 07:00 UTC
    ("America/New_York", "Europe/Madrid", (2026, 3, 7, 22, 30), (2026, 3, 8, 12, 0)),  # EST → EDT on 8 March
])
def test_b17_quiet_hours_end_at_the_store_s_wall_clock_hour_on_dst_days(settings, store_zone, site_zone, evening,
                                                                        resume_utc):
    """B17: a first mail due at 22:29 store time with quiet hours 21:00–08:00 waits until 08:00 store time the
    next morning, a day whose UTC offset differs; the store's zone falls back to TIME_ZONE."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    settings.TIME_ZONE = site_zone
    settings.JOURNEY = {**settings.JOURNEY, "STORE_TIME_ZONE": store_zone, "RECOVERY_QUIET_HOURS": (21, 8)}
    default_sequence()
    basket = basket_with()
    services.capture_email(basket, "night@example.com", BasketActivity.Source.CHECKOUT)
    now = datetime(*evening, tzinfo=ZoneInfo(store_zone or site_zone))
    make_idle(basket, 61, now)
    services.scan(now)
    first = Message.objects.get(to_email="night@example.com", step=1)
    assert first.due_at == datetime(*resume_utc, tzinfo=UTC)
    assert first.due_at.astimezone(ZoneInfo(store_zone or site_zone)).hour == 8


def test_a3_a_batch_redelivered_after_its_rows_were_swept_and_claimed_again_counts_no_attempt_and_sends_nothing(
        settings):
    """A3 (found with real workers, tests/core/test_outbox_workers.py): a dead worker's batch comes back from the broker
    after the sweeper requeued its rows and a new claim took them.  The old batch belongs to a claim that is over:
    it counts no attempt on the new claim (the new claim counted one already) and leaves the rows to the new batch."""
    from datetime import timedelta

    settings.JOURNEY = {**settings.JOURNEY, "SEND_STALE_AFTER_SECONDS": 60, "SEND_MAX_ATTEMPTS": 3}
    message = abandoned("a3@example.com")
    Message.objects.exclude(pk=message.pk).delete()
    ids = outbox.claim_due(10)  # attempt 1; its worker dies
    old_claim = Message.objects.get(pk=message.pk).claimed_at
    later = timezone.now() + timedelta(minutes=2)
    assert outbox.requeue_stale(now=later) == (1, 0)
    assert outbox.claim_due(10, now=later) == ids  # attempt 2, a new batch
    assert outbox.note_redelivery(ids, claimed_at=old_claim) == (0, 0)  # the first batch, redelivered
    assert str(outbox.send_claimed(ids, claimed_at=old_claim)).startswith("sent 0,")
    row = Message.objects.get(pk=message.pk)
    assert row.state == State.SENDING and row.attempts == 2 and mail.outbox == []
    assert str(outbox.send_claimed(ids, claimed_at=row.claimed_at)).startswith("sent 1,")  # the new batch
    assert Message.objects.get(pk=message.pk).attempts == 2 and len(mail.outbox) == 1
