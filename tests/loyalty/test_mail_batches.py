"""The Retain mails are built a send batch at a time with a fixed number of queries, whatever the batch's size; an
order schedules its thank-you mail in a handful of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journey.core.models import Message
from journey.loyalty.followups import mail as followups_mail
from journey.loyalty.followups import services as followups
from journey.loyalty.profiles.models import CustomerProfile
from tests.loyalty.test_followups import customer, place, post_purchase, winback

pytestmark = pytest.mark.django_db


def same_queries_for_2_or_5(build, messages):
    """A first batch of one makes what is made once (the program's Oscar offer); then a batch of 2 and one of 5."""
    assert len(messages) == 8
    queries(build, messages[:1])
    assert queries(build, messages[1:3]) == queries(build, messages[3:])


def queries(build, messages):
    with CaptureQueriesContext(connection) as captured:
        contexts = build(messages)
    assert len(contexts) == len(messages)
    assert not any(isinstance(c, Exception) for c in contexts.values()), contexts
    return len(captured.captured_queries)


def test_post_purchase_mails_are_built_with_the_same_queries_for_2_or_5(django_user_model,
                                                                         django_capture_on_commit_callbacks):
    post_purchase()
    for i in range(8):
        place(customer(django_user_model, f"buyer{i}", consent="granted"), on_commit=django_capture_on_commit_callbacks)
    messages = list(Message.objects.filter(tool=followups.POST_PURCHASE).order_by("pk"))
    assert len(messages) == 8
    same_queries_for_2_or_5(followups_mail.prepare_post_purchase_batch, messages)


def test_winback_mails_are_built_with_the_same_queries_for_2_or_5(django_user_model):
    now = timezone.now()
    for i in range(8):
        place(customer(django_user_model, f"lapsed{i}", consent="granted"), placed=now - timedelta(days=100))
    winback(after_days=90)
    assert followups.schedule_winback(now=now) == 8
    messages = list(Message.objects.filter(tool=followups.WINBACK).select_related("user").order_by("pk"))
    same_queries_for_2_or_5(followups_mail.prepare_winback_batch, messages)


def test_an_order_schedules_its_thank_you_mail_in_four_queries(django_user_model):
    post_purchase()
    buyer = customer(django_user_model, "ana", consent="granted", language="es")
    order = place(buyer)
    with CaptureQueriesContext(connection) as captured:
        assert followups.on_order_placed(order.pk, language="en")
    # The order with its customer and profile; the pending win-back mail cancelled; the program; the INSERT (on
    # SQLite the outbox's bulk path stamps created_at in one more statement).
    statements = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) <= (4 if connection.vendor == "postgresql" else 5), [q[:80] for q in statements]
    assert Message.objects.get(tool=followups.POST_PURCHASE).language == "es"


def test_a_guest_order_schedules_its_thank_you_mail_too(django_user_model):
    post_purchase()
    order = place(guest_email="guest@example.com")
    assert followups.on_order_placed(order.pk, language="en")
    assert Message.objects.get(tool=followups.POST_PURCHASE).to_email == "guest@example.com"


def test_a_customer_without_a_profile_gets_the_checkout_language(django_user_model):
    post_purchase()
    order = place(customer(django_user_model, "bo"))
    assert not CustomerProfile.objects.filter(user__username="bo").exists()
    assert followups.on_order_placed(order.pk, language="en")
    assert Message.objects.get(tool=followups.POST_PURCHASE).language == "en"
