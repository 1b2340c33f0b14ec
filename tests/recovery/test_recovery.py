"""Abandoned-basket recovery: detection, the sequence, stops, restore links, incentives."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import create_order, create_product

from journey.core import outbox
from journey.core.models import Message, PersonalVoucher
from journey.recovery import services
from journey.recovery.models import BasketActivity, RecoveryStep
from journey.test.factories import basket_with, make_idle

Basket = get_model("basket", "Basket")
State = BasketActivity.State
pytestmark = pytest.mark.django_db


def guest_basket(email="guest@example.com", **kwargs):
    basket = basket_with(**kwargs)
    services.capture_email(basket, email, BasketActivity.Source.CHECKOUT)
    return basket


def restore_link(message):
    match = re.search(r"https?://[^/\s\"]+(/journey/r/[A-Za-z0-9_\-]+/)", message.body)
    assert match, message.body
    return match.group(1)


def device_of(basket):
    """The browser that built the guest ``basket`` (its Oscar basket cookie points at it)."""
    from django.core.signing import Signer

    device = Client()
    device.cookies["oscar_open_basket"] = Signer().sign(basket.pk)
    return device


def send_all(now):
    return outbox.send_due(now=now)


def send_first_reminder(basket):
    """Let ``basket`` sit for 61 minutes, scan, and send what is due: its first recovery mail."""
    now = timezone.now()
    make_idle(basket, 61, now)
    services.scan(now)
    send_all(now)


def test_a_basket_is_abandoned_after_an_hour_without_activity():
    basket = guest_basket()
    now = timezone.now()
    make_idle(basket, 59, now)
    assert services.scan(now).started == 0
    make_idle(basket, 61, now)
    report = services.scan(now)
    assert (report.started, report.scheduled) == (1, 3)
    activity = BasketActivity.objects.get(basket=basket)
    assert activity.state == State.IN_SEQUENCE
    mails = Message.objects.filter(subject_key=activity.subject_key).order_by("step")
    due = list(mails.values_list("due_at", flat=True))
    anchor = activity.last_activity_at
    assert due == [anchor + timedelta(hours=1), anchor + timedelta(hours=24), anchor + timedelta(hours=72)]


def test_the_sequence_sends_each_mail_when_it_is_due_and_only_then():
    basket = guest_basket()
    now = timezone.now()
    anchor = make_idle(basket, 61, now)
    services.scan(now)
    send_all(now)
    assert [m.to for m in mail.outbox] == [["guest@example.com"]]
    send_all(anchor + timedelta(hours=23, minutes=59))
    assert len(mail.outbox) == 1
    send_all(anchor + timedelta(hours=24, seconds=1))
    send_all(anchor + timedelta(hours=72, seconds=1))
    assert len(mail.outbox) == 3
    sent = Message.objects.filter(state=Message.State.SENT)
    assert sent.count() == 3 and all(m.esp_message_id != "" for m in sent)
    first = mail.outbox[0]
    assert first.anymail_test_params["tags"] == ["journey", "recovery", "recovery"]
    assert first.anymail_test_params["metadata"]["journey_message_id"] == str(sent.order_by("step")[0].pk)
    # one-click needs https (tests/core/test_outbox_reliability)
    assert "List-Unsubscribe-Post" not in first.extra_headers
    assert first.extra_headers["List-Unsubscribe"].startswith("<http://testserver/journey/u/")


def test_an_order_placed_between_scan_and_send_stops_the_mail(django_capture_on_commit_callbacks):
    basket = guest_basket()
    now = timezone.now()
    make_idle(basket, 61, now)
    services.scan(now)
    with django_capture_on_commit_callbacks(execute=True):
        create_order(basket=basket_with(), guest_email="guest@example.com")
    send_all(now)
    assert mail.outbox == []
    assert not Message.objects.filter(state=Message.State.SCHEDULED).exists()
    assert BasketActivity.objects.get(basket=basket).state == State.ORDERED


def test_the_order_of_the_basket_itself_cancels_the_rest(django_capture_on_commit_callbacks):
    basket = guest_basket()
    send_first_reminder(basket)
    with django_capture_on_commit_callbacks(execute=True):
        create_order(basket=basket, guest_email="guest@example.com")
    assert Message.objects.filter(state=Message.State.CANCELLED).count() == 2
    assert Message.objects.get(state=Message.State.CANCELLED, step=2).close_reason == "the customer ordered"


def test_a_basket_that_changes_restarts_the_clock():
    product = create_product(price=Decimal("4.00"), num_in_stock=5)
    basket = guest_basket()
    now = timezone.now()
    make_idle(basket, 61, now)
    services.scan(now)
    basket.add_product(product)  # the shopper came back and changed it
    activity = BasketActivity.objects.get(basket=basket)
    assert activity.state == State.ACTIVE
    send_all(now)
    assert mail.outbox == []
    assert Message.objects.get(step=1).state == Message.State.CANCELLED
    # an hour after the change, a new cycle starts
    make_idle(basket, 61, now)
    report = services.scan(now)
    assert report.started == 1
    activity.refresh_from_db()
    assert activity.cycle == 2
    assert not Message.objects.filter(subject_key__endswith=":cycle:1", state=Message.State.SCHEDULED).exists()
    send_all(now)
    assert len(mail.outbox) == 1


def test_the_same_customer_is_not_chased_again_within_the_cooldown():
    first = guest_basket()
    now = timezone.now()
    make_idle(first, 61, now)
    services.scan(now)
    second = guest_basket()
    make_idle(second, 61, now)
    report = services.scan(now)
    assert report.started == 0 and report.stopped == 1
    assert "chased within the last 7 days" in BasketActivity.objects.get(basket=second).stop_reason


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda b, u: BasketActivity.objects.filter(basket=b).update(email=""), "no email known"),
        (lambda b, u: b.flush(), "basket is empty"),
        (lambda b, u: u.__setattr__("is_staff", True) or u.save(), "staff account"),
    ],
)
def test_baskets_that_must_not_be_chased_are_not(setup, reason, django_user_model):
    user = django_user_model.objects.create_user(username="c", email="c@example.com", password="pw")
    basket = basket_with(owner=user)
    setup(basket, user)
    now = timezone.now()
    make_idle(basket, 61, now)
    assert services.scan(now).started == 0
    assert BasketActivity.objects.get(basket=basket).stop_reason == reason


def test_consent_policy_requires_an_explicit_opt_in(settings):
    settings.JOURNEY = {**settings.JOURNEY, "CONSENT_POLICY": "consent"}
    basket = guest_basket()
    opted_in = basket_with()
    services.capture_email(opted_in, "yes@example.com", BasketActivity.Source.BASKET_FORM, consent=True,
                           consent_text="Yes, email me")
    now = timezone.now()
    make_idle(basket, 61, now)
    make_idle(opted_in, 61, now)
    assert services.scan(now).started == 1
    assert BasketActivity.objects.get(basket=opted_in).state == State.IN_SEQUENCE
    assert BasketActivity.objects.get(basket=opted_in).consent_text == "Yes, email me"


def test_a_signed_in_shoppers_basket_is_tracked_with_their_email(client, django_user_model):
    user = django_user_model.objects.create_user(username="s", email="Shopper@Example.com", password="pw")
    product = create_product(price=Decimal("3.00"), num_in_stock=5)
    client.force_login(user)
    response = client.post(reverse("basket:add", args=[product.pk]), {"quantity": 2})
    assert response.status_code == 302
    activity = BasketActivity.objects.get()
    assert (activity.email, activity.user, activity.email_source) == ("shopper@example.com", user, "account")


def test_the_guest_email_is_captured_at_the_checkout_gateway(client, settings):
    product = create_product(price=Decimal("3.00"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    response = client.post(reverse("checkout:index"), {"username": "guest@example.com", "options": "anonymous"})
    assert response.status_code == 302
    activity = BasketActivity.objects.get()
    assert (activity.email, activity.email_source) == ("guest@example.com", "checkout")


def test_the_restore_link_brings_a_guest_basket_to_another_device():
    product = create_product(title="Organic honey", price=Decimal("7.50"), num_in_stock=5)
    basket = guest_basket(products=[product])
    send_first_reminder(basket)
    phone = Client()  # a fresh device: no cookie, no session
    response = phone.get(restore_link(mail.outbox[0]))
    assert response.status_code == 302 and response["Location"] == reverse("basket:summary")
    assert response["Referrer-Policy"] == "no-referrer"  # the token reaches nobody, not even our own analytics
    assert "/journey/r/" not in response["Location"]
    page = phone.get(response["Location"])
    assert "Organic honey" in page.content.decode()
    assert page.context["basket"].pk != basket.pk  # the phone's own basket, holding the lines (see docs/recovery.md)
    message = Message.objects.get(step=1)
    assert message.clicked_at is not None
    assert BasketActivity.objects.get(basket=basket).first_clicked_at is not None


def test_an_owned_basket_is_only_restored_for_its_owner(django_user_model):
    owner = django_user_model.objects.create_user(username="o", email="owner@example.com", password="pw")
    other = django_user_model.objects.create_user(username="x", email="other@example.com", password="pw")
    product = create_product(title="Owner cheese", price=Decimal("5.00"), num_in_stock=5)
    basket = basket_with(products=[product], owner=owner)
    send_first_reminder(basket)
    link = restore_link(mail.outbox[0])

    stranger = Client()
    response = stranger.get(link)
    assert response.status_code == 302 and response["Location"].startswith(reverse("customer:login"))
    stranger.force_login(other)
    response = stranger.get(reverse("journey:restore-basket-continue"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("customer:login"))
    assert "Owner cheese" not in stranger.get(reverse("basket:summary")).content.decode()

    device = Client()
    device.get(link)
    device.force_login(owner)
    response = device.get(reverse("journey:restore-basket-continue"))
    assert response["Location"] == reverse("basket:summary")
    assert "Owner cheese" in device.get(reverse("basket:summary")).content.decode()


def test_unavailable_lines_are_dropped_and_prices_refreshed_on_restore():
    kept = create_product(title="Kept", price=Decimal("2.00"), num_in_stock=5)
    gone = create_product(title="Sold out", price=Decimal("2.00"), num_in_stock=5)
    basket = guest_basket(products=[kept, gone])
    send_first_reminder(basket)
    gone.stockrecords.update(num_in_stock=0)
    kept.stockrecords.update(price=Decimal("2.50"))
    device = Client()
    response = device.get(restore_link(mail.outbox[0]), follow=True)
    html = response.content.decode()
    assert "is no longer available" in html and "Sold out" in html
    lines = list(Basket.objects.get(pk=response.context["basket"].pk).all_lines())
    assert [line.product.title for line in lines] == ["Kept"]
    assert lines[0].price_incl_tax == Decimal("2.50")


def tokens_in(message):
    return restore_link(message).split("/")[-2]


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: "x" * 32, lambda t: ""]
)
def test_tampered_and_unknown_links_get_the_same_friendly_page(mangle):
    basket = guest_basket()
    send_first_reminder(basket)
    token = mangle(tokens_in(mail.outbox[0]))
    url = f"/journey/r/{token}/" if token else "/journey/r/ /"
    response = Client().get(url)
    assert response.status_code == 404
    page = response.content.decode()
    assert "This link doesn't work any more" in page  # the invalid-link page, not "can no longer be restored"
    assert "can no longer be restored" not in page


def test_an_expired_link_stops_working_exactly_at_its_expiry(settings):
    from journey.core import tokens
    from journey.core.models import LinkToken

    now = timezone.now()
    raw = tokens.issue("recovery", object_id="1", ttl=timedelta(seconds=10), now=now)
    assert tokens.resolve("recovery", raw, now=now + timedelta(seconds=9)) is not None
    assert tokens.resolve("recovery", raw, now=now + timedelta(seconds=10)) is None
    assert tokens.resolve("unsubscribe", raw, now=now) is None  # scoped to its purpose
    assert raw not in str(list(LinkToken.objects.values_list("digest", flat=True)))  # only the digest is stored


def test_repeated_bad_links_from_one_client_are_rate_limited(settings):
    from django.core.cache import cache

    cache.clear()
    settings.JOURNEY = {**settings.JOURNEY, "RESTORE_RATE_LIMIT": (3, 600)}
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [client.get(f"/journey/r/bad{i}/").status_code for i in range(5)]
    assert statuses == [404, 404, 404, 429, 429]
    assert Client(REMOTE_ADDR="203.0.113.10").get("/journey/r/bad/").status_code == 404


def with_incentive(kind="percentage", value="10"):
    RecoveryStep.objects.filter(position=3).update(incentive=kind, incentive_value=Decimal(value),
                                                   incentive_valid_days=7)


def run_sequence(basket, now):
    anchor = make_idle(basket, 61, now)
    services.scan(now)
    send_all(anchor + timedelta(hours=73))
    return Message.objects.get(subject_key__startswith=f"recovery:basket:{basket.pk}:", step=3)


def test_the_last_mail_carries_a_voucher_that_the_restore_link_applies():
    with_incentive()
    product = create_product(price=Decimal("20.00"), num_in_stock=5)
    basket = guest_basket(products=[product])
    message = run_sequence(basket, timezone.now())
    voucher = PersonalVoucher.objects.get().voucher
    last_mail = mail.outbox[-1]
    assert voucher.code in last_mail.body and voucher.code in last_mail.alternatives[0][0]
    device = Client()
    response = device.get(restore_link(last_mail), follow=True)
    assert f"your discount {voucher.code} applied" in response.content.decode()
    restored = response.context["basket"]
    assert restored.total_incl_tax == Decimal("18.00")
    assert Message.objects.get(pk=message.pk).context["voucher_id"] == voucher.pk


def test_a_personal_voucher_does_not_work_for_anyone_else(django_user_model):
    with_incentive()
    basket = guest_basket(products=[create_product(price=Decimal("20.00"), num_in_stock=5)])
    run_sequence(basket, timezone.now())
    code = PersonalVoucher.objects.get().voucher.code
    product = create_product(price=Decimal("20.00"), num_in_stock=5)

    someone = django_user_model.objects.create_user(username="y", email="someone@example.com", password="pw")
    anonymous, account = Client(), Client()
    account.force_login(someone)
    for client in (anonymous, account):
        client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
        response = client.post(reverse("basket:vouchers-add"), {"code": code}, follow=True)
        assert "This code is not valid." in response.content.decode()  # the same answer as an unknown code
        assert response.context["basket"].total_incl_tax == Decimal("20.00")


def test_issuing_a_personal_voucher_twice_gives_one_voucher():
    from journey.core.vouchers import issue_personal_voucher

    kwargs = {"key": "k1", "purpose": "test", "kind": "fixed", "value": "5", "valid_days": 3, "email": "a@example.com"}
    first = issue_personal_voucher(**kwargs)
    second = issue_personal_voucher(**kwargs)
    assert first.pk == second.pk and first.voucher_id == second.voucher_id
    assert first.voucher.usage == "Single use"
    assert (first.voucher.end_datetime - first.voucher.start_datetime) == timedelta(days=3)


def test_a_product_name_with_a_script_is_escaped_in_the_mail():
    product = create_product(title="<script>alert(1)</script> Jam", price=Decimal("3.00"), num_in_stock=5)
    basket = guest_basket(products=[product])
    send_first_reminder(basket)
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; Jam" in html


def test_the_mail_is_in_the_shoppers_language():
    basket = basket_with()
    services.capture_email(basket, "es@example.com", BasketActivity.Source.CHECKOUT, language="es")
    send_first_reminder(basket)
    text = (mail.outbox[0].subject + mail.outbox[0].body).lower()
    assert "carrito" in text and "basket" not in text and "cesta" not in text


def test_quiet_hours_move_a_mail_to_the_morning(settings):
    from zoneinfo import ZoneInfo

    settings.JOURNEY = {**settings.JOURNEY, "RECOVERY_QUIET_HOURS": (21, 8), "STORE_TIME_ZONE": "Europe/Madrid"}
    madrid = ZoneInfo("Europe/Madrid")
    late = timezone.datetime(2026, 3, 10, 22, 30, tzinfo=madrid)
    moved = services._quiet(late, (21, 8))
    assert moved.astimezone(madrid) == timezone.datetime(2026, 3, 11, 8, 0, tzinfo=madrid)
    day = timezone.datetime(2026, 3, 10, 12, 0, tzinfo=madrid)
    assert services._quiet(day, (21, 8)) == day


def test_scanning_twice_schedules_once():
    basket = guest_basket()
    now = timezone.now()
    make_idle(basket, 61, now)
    services.scan(now)
    services.scan(now)
    assert Message.objects.count() == 3


def test_the_email_me_my_basket_form_captures_consent_and_sends_the_basket(client):
    product = create_product(title="Olive oil", price=Decimal("9.00"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    response = client.post(reverse("journey:email-basket"), {"email": "Me@Example.com", "consent": "on"})
    assert response.status_code == 302
    activity = BasketActivity.objects.get()
    assert activity.consent and activity.consent_text.startswith("Yes, email me") and activity.consent_at
    outbox.send_due()
    assert mail.outbox[0].to == ["me@example.com"] and "Olive oil" in mail.outbox[0].body


def test_the_email_me_my_basket_form_reports_a_bad_address(client):
    product = create_product(price=Decimal("9.00"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    response = client.post(reverse("journey:email-basket"), {"email": "not-an-email"}, follow=True)
    assert response.status_code == 200
    assert "valid email" in response.content.decode()
    assert not BasketActivity.objects.exclude(email="").exists()


def test_the_sequence_goes_on_after_a_click_until_the_customer_orders():
    basket = guest_basket()
    now = timezone.now()
    anchor = make_idle(basket, 61, now)
    services.scan(now)
    send_all(now)
    device_of(basket).get(restore_link(mail.outbox[0]))  # the shopper looked, and left again
    send_all(anchor + timedelta(hours=24, seconds=1))
    assert len(mail.outbox) == 2


def test_a_basket_taken_over_by_another_device_is_not_chased_with_what_that_device_adds():
    basket = guest_basket()
    now = timezone.now()
    anchor = make_idle(basket, 61, now)
    services.scan(now)
    send_all(now)
    phone = Client()
    phone.get(restore_link(mail.outbox[0]))
    phone.post(reverse("basket:add", args=[create_product(title="Not for the sender", num_in_stock=5).pk]),
               {"quantity": 1})
    send_all(anchor + timedelta(hours=72, seconds=1))
    assert len(mail.outbox) == 1  # the mailed basket moved to the phone: no mail lists the phone's basket
    assert Message.objects.filter(step__in=[2, 3], state=Message.State.CANCELLED).count() == 2


def test_a_clicked_basket_that_changes_is_not_chased_again_at_once():
    product = create_product(price=Decimal("4.00"), num_in_stock=5)
    basket = guest_basket()
    send_first_reminder(basket)
    device_of(basket).get(restore_link(mail.outbox[0]))
    basket.add_product(product)
    now = timezone.now()
    make_idle(basket, 61, now)
    assert services.scan(now).started == 0
    assert BasketActivity.objects.get(basket=basket).stop_reason == "came back through a recovery mail recently"


def test_recording_a_basket_change_is_one_statement():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    basket = basket_with()
    with CaptureQueriesContext(connection) as ctx:
        services.touch(basket.pk)
    assert len(ctx.captured_queries) == 1


def test_an_add_to_basket_costs_journey_one_statement_with_its_event(client):
    """Issue 17: the basket activity upsert goes with the request's events in one statement on PostgreSQL (it was
    two: the upsert, then the events' INSERT); elsewhere each is its own statement.  Both rows are written."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from journey.core.models import JourneyEvent

    product = create_product(price=Decimal("3.00"), num_in_stock=50)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    first = BasketActivity.objects.get().last_activity_at
    with CaptureQueriesContext(connection) as ctx:
        assert client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1}).status_code == 302
    ours = [q["sql"] for q in ctx.captured_queries if "journey_" in q["sql"]]
    assert len(ours) == (1 if connection.vendor == "postgresql" else 2), ours
    assert BasketActivity.objects.get().last_activity_at > first
    assert JourneyEvent.objects.filter(kind="basket_add").count() == 2


def test_a_basket_deleted_after_it_changed_in_the_same_request_is_no_error(caplog):
    """The activity row is written at the end of the request (with its events): a basket deleted meanwhile leaves
    nothing behind, and the events are still written."""
    from journey.core import events
    from journey.core.models import JourneyEvent

    basket = basket_with()
    with events.buffered():
        services.touch(basket.pk)
        events.record(events.Kind.BASKET_ADD, basket_id=basket.pk, device="desktop")
        basket.delete()
    assert not BasketActivity.objects.exists()
    assert JourneyEvent.objects.filter(kind="basket_add").count() == 1
    assert "could not write" not in caplog.text and "failed" not in caplog.text
