"""The outbox, tracking and link tokens never lose or leak mail: each test here is a defect found after the first
wave (the ids are the reliability cases of issue 13)."""

import base64
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from oscar.test.factories import create_order

from journey import signals
from journey.core import outbox, privacy
from journey.core.models import LinkToken, Message, PersonalVoucher, Suppression, TrackingEvent
from journey.loyalty.followups import services as followups
from journey.loyalty.followups.models import WinbackProgram
from journey.recovery.models import BasketActivity
from journey.test.factories import basket_with
from tests.core.test_outbox import POSTMARK_EVENT, abandoned

pytestmark = pytest.mark.django_db
State = Message.State


# C25 — a tracking webhook that fails half-way is processed in full when the ESP retries it -------------------------
def post_bounce(esp_id, email):
    payload = dict(POSTMARK_EVENT["Bounce"], MessageID=esp_id, Email=email)
    return Client(raise_request_exception=False).post(
        "/anymail/postmark/tracking/", data=json.dumps(payload), content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"hook:secret").decode())


def test_a_bounce_webhook_failing_half_way_is_answered_5xx_and_its_retry_suppresses_once(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}
    message = abandoned()
    outbox.send_due()
    Message.objects.filter(pk=message.pk).update(esp_message_id="a1b2c3d4-0000-4000-8000-00000000c025")
    effects = []

    def flaky_receiver(suppression, **kwargs):  # e.g. the database went away while the effects were written
        if not effects:
            effects.append("failed")
            raise RuntimeError("database connection lost")
        effects.append(suppression.email)

    signals.address_suppressed.connect(flaky_receiver)
    try:
        assert post_bounce("a1b2c3d4-0000-4000-8000-00000000c025", message.to_email).status_code >= 500
        assert not Suppression.objects.exists() and not TrackingEvent.objects.exists()  # nothing half-done
        assert post_bounce("a1b2c3d4-0000-4000-8000-00000000c025", message.to_email).status_code == 200
        assert post_bounce("a1b2c3d4-0000-4000-8000-00000000c025", message.to_email).status_code == 200
    finally:
        signals.address_suppressed.disconnect(flaky_receiver)
    assert effects == ["failed", message.to_email]
    assert Suppression.objects.get().reason == Suppression.Reason.HARD_BOUNCE
    assert TrackingEvent.objects.filter(event_type="bounced").count() == 1
    assert Message.objects.get(pk=message.pk).esp_status == "bounced"


# The sweeper measures an in-flight row's age from its ESP call -----------------------------------------------------
def test_a_batch_slower_than_the_sweep_age_keeps_its_in_flight_mail_and_a_transient_error_still_retries(
        settings, scripted_esp):
    settings.JOURNEY = {**settings.JOURNEY, "SEND_STALE_AFTER_SECONDS": 60}
    message = abandoned()
    ids = outbox.claim_due(10, now=timezone.now())
    swept = []

    def slow_batch_then_sweep_then_503():
        # By the time this mail's ESP call starts, its batch was claimed ten minutes ago; the sweeper runs now.
        Message.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - timedelta(minutes=10))
        swept.append(outbox.requeue_stale())
        return 503

    scripted_esp[message.to_email] = [slow_batch_then_sweep_then_503]
    outbox.send_claimed(ids)
    assert swept == [(0, 0)]  # the sweeper ran during the ESP call and left the row alone
    row = Message.objects.get(pk=message.pk)
    assert row.state == State.SCHEDULED and row.attempts == 1 and "503" in row.last_error
    scripted_esp[message.to_email] = ["sent"]
    outbox.send_due(now=row.due_at + timedelta(seconds=1))
    assert Message.objects.get(pk=message.pk).state == State.SENT  # (mail.outbox keeps the refused attempt too)


def test_the_sweeper_still_fails_a_row_whose_esp_call_started_longer_ago_than_the_sweep_age(settings):
    settings.JOURNEY = {**settings.JOURNEY, "SEND_STALE_AFTER_SECONDS": 60}
    message = abandoned()
    now = timezone.now()
    outbox.claim_due(10)
    Message.objects.filter(pk=message.pk).update(claimed_at=now - timedelta(minutes=3),
                                                 esp_call_started_at=now - timedelta(minutes=2))
    assert outbox.requeue_stale(now=now) == (0, 1)
    assert Message.objects.get(pk=message.pk).state == State.FAILED


# A11 — the attempt counter stops a mail whose worker dies on every run ---------------------------------------------
def test_a_mail_whose_worker_dies_on_every_attempt_fails_after_the_maximum_attempts(settings):
    settings.JOURNEY = {**settings.JOURNEY, "SEND_STALE_AFTER_SECONDS": 60, "SEND_MAX_ATTEMPTS": 3}
    message = abandoned()
    now = timezone.now()
    for _run in range(6):
        now += timedelta(minutes=5)
        outbox.claim_due(10, now=now)  # claimed; the worker is killed before the ESP call
        outbox.requeue_stale(now=now + timedelta(minutes=2))
    row = Message.objects.get(pk=message.pk)
    assert row.state == State.FAILED and row.attempts == 3
    assert "3 attempts" in row.close_reason and row.esp_call_started_at is None
    assert mail.outbox == []


def test_a_batch_redelivered_after_its_worker_died_every_time_fails_after_the_maximum_attempts(settings):
    settings.JOURNEY = {**settings.JOURNEY, "SEND_MAX_ATTEMPTS": 3}
    message = abandoned()
    ids = outbox.claim_due(10)  # attempt 1
    assert outbox.note_redelivery(ids) == (1, 0)  # the pool process died; the broker redelivers: attempt 2
    assert outbox.note_redelivery(ids) == (1, 0)  # attempt 3
    assert outbox.note_redelivery(ids) == (0, 1)  # no fourth
    row = Message.objects.get(pk=message.pk)
    assert row.state == State.FAILED and row.attempts == 3 and "3 attempts" in row.close_reason
    outbox.send_claimed(ids)
    assert mail.outbox == []


def test_a_batch_task_delivered_after_the_sweep_age_leaves_its_rows_to_the_sweeper(settings):
    """A redelivery the broker does not flag can repeat only until the claim is older than the sweep age; from
    then on the sweeper, which counts attempts, decides."""
    settings.JOURNEY = {**settings.JOURNEY, "SEND_STALE_AFTER_SECONDS": 30, "SEND_MAX_ATTEMPTS": 3}
    message = abandoned()
    ids = outbox.claim_due(10)
    Message.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - timedelta(seconds=50))
    assert str(outbox.send_claimed(ids)).startswith("sent 0,")
    assert mail.outbox == [] and Message.objects.get(pk=message.pk).state == State.SENDING
    assert outbox.requeue_stale() == (1, 0)
    outbox.send_due()
    row = Message.objects.get(pk=message.pk)
    assert row.state == State.SENT and row.attempts == 2 and len(mail.outbox) == 1


def test_a_stale_row_with_attempts_left_is_still_requeued(settings):
    settings.JOURNEY = {**settings.JOURNEY, "SEND_STALE_AFTER_SECONDS": 60, "SEND_MAX_ATTEMPTS": 3}
    message = abandoned()
    now = timezone.now()
    outbox.claim_due(10, now=now)
    outbox.claim_due(10, now=now)  # nothing more to claim
    assert outbox.requeue_stale(now=now + timedelta(minutes=2)) == (1, 0)
    assert Message.objects.get(pk=message.pk).state == State.SCHEDULED


# Win-back after the retention job: a new voucher, not the expired one of two years ago ----------------------------
def test_winback_after_the_retention_job_issues_a_fresh_voucher_not_the_expired_one(django_user_model):
    program = WinbackProgram.load()
    program.is_active, program.after_days, program.valid_days = True, 90, 30
    program.save()
    ana = django_user_model.objects.create_user(username="ana", email="ana@example.com", password="pw")
    now = timezone.now()
    create_order(basket=basket_with(owner=ana, price=Decimal("10.00")), user=ana, date_placed=now - timedelta(days=100))

    assert followups.schedule_winback(now=now) == 1
    outbox.send_due(now=now + timedelta(minutes=1))
    later = now + timedelta(days=800)  # more than MESSAGE_RETENTION_DAYS (730): the retention job deletes the mail
    assert privacy.purge(now=later)["messages"] == 1
    assert followups.schedule_winback(now=later) == 1
    outbox.send_due(now=later + timedelta(minutes=1))

    assert [m.to for m in mail.outbox] == [["ana@example.com"], ["ana@example.com"]]
    first, second = PersonalVoucher.objects.filter(purpose="winback").select_related("voucher").order_by("pk")
    assert first.voucher.code in mail.outbox[0].body and second.voucher.code in mail.outbox[1].body
    assert first.voucher.code != second.voucher.code  # not the voucher of two years ago (long expired by then)


# Link tokens: minted for the mails that go out, once per mail ------------------------------------------------------
def test_a_cancelled_mail_mints_no_link_token():
    message = abandoned()
    BasketActivity.objects.update(state=BasketActivity.State.ORDERED)
    outbox.send_due()
    assert Message.objects.get(pk=message.pk).state == State.CANCELLED
    assert LinkToken.objects.count() == 0


def test_retries_reuse_the_mails_link_tokens(scripted_esp):
    message = abandoned()
    scripted_esp[message.to_email] = [503, 502, "sent"]
    for _attempt in range(3):
        outbox.send_due(now=Message.objects.get(pk=message.pk).due_at + timedelta(seconds=1))
    assert Message.objects.get(pk=message.pk).state == State.SENT
    assert sorted(LinkToken.objects.values_list("purpose", flat=True)) == ["recovery", "unsubscribe"]
    body = mail.outbox[-1].body  # anymail's test backend keeps the refused attempts too
    for purpose, path in (("recovery", "/journey/r/"), ("unsubscribe", "/journey/u/")):
        raw = re.search(re.escape(path) + r"([A-Za-z0-9_-]+)/", body).group(1)
        assert Client().get(f"{path}{raw}/").status_code in (200, 302), purpose


# D33 — 192-bit tokens, and no raw token anywhere in the database ---------------------------------------------------
def every_value_in_the_database():
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from the db
            for row in cursor.fetchall():
                yield table, " ".join(str(v) for v in row)


def test_link_tokens_have_192_bits_and_no_raw_token_is_stored_anywhere():
    abandoned()
    outbox.send_due()
    [sent] = mail.outbox
    raws = set(re.findall(r"/journey/[ur]/([A-Za-z0-9_-]+)/", sent.body + sent.alternatives[0][0]))
    raws |= set(re.findall(r"/journey/u/([A-Za-z0-9_-]+)/", sent.extra_headers["List-Unsubscribe"]))
    assert len(raws) == 2  # the restore link and the unsubscribe link
    for raw in raws:
        assert len(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))) * 8 >= 192
    row = Message.objects.get(state=State.SENT)
    assert "/journey/r/" in row.body_text and "/journey/u/" in row.body_html  # the rendered mail is kept…
    leaks = [(table, raw) for table, text in every_value_in_the_database() for raw in raws if raw in text]
    assert leaks == []  # … without the tokens
