"""Post-purchase "next order" voucher and win-back mails: once per order / per absence, on time, never when they
must not go out."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from oscar.core.loading import get_class, get_model
from oscar.test.factories import create_order, create_product

from journey.core import jobs, outbox, suppression
from journey.core.models import Message, PersonalVoucher, Suppression
from journey.loyalty.followups import services as followups
from journey.loyalty.followups.models import PostPurchaseProgram, WinbackProgram
from journey.loyalty.profiles.models import CustomerProfile
from journey.related.models import ListKind, RelatedBuild, RelatedProduct, Source
from journey.test.factories import basket_with
from tests.race import on_postgresql, run_at_once

Order = get_model("order", "Order")
order_placed = get_class("order.signals", "order_placed")
State = Message.State
pytestmark = pytest.mark.django_db
PIPELINE = {"Pending": ("Being processed", "Cancelled"), "Being processed": ("Complete", "Cancelled"),
            "Complete": ("Refunded",), "Cancelled": (), "Refunded": ()}


@pytest.fixture(autouse=True)
def shop_statuses(monkeypatch):
    """Oscar reads the status pipeline into the Order class at import: a shop with a refund status."""
    monkeypatch.setattr(Order, "pipeline", PIPELINE)


def post_purchase(**terms):
    program = PostPurchaseProgram.load()
    for name, value in {"is_active": True, **terms}.items():
        setattr(program, name, value)
    program.save()
    return program


def winback(**terms):
    program = WinbackProgram.load()
    for name, value in {"is_active": True, **terms}.items():
        setattr(program, name, value)
    program.save()
    return program


def customer(django_user_model, name="ana", consent=None, language=""):
    user = django_user_model.objects.create_user(username=name, email=f"{name}@example.com", password="pw",
                                                 first_name=name.title())
    if consent is not None or language:
        CustomerProfile.objects.create(user=user, marketing_consent=consent or "", language=language)
    return user


def place(user=None, *, guest_email="", price="10.00", placed=None, products=None, on_commit=None):
    """An order of ``user`` (or a guest) worth ``price``; its on-commit receivers run when ``on_commit`` is the
    pytest-django fixture (otherwise they never run: the test's transaction never commits)."""
    basket = basket_with(products, owner=user, price=Decimal(price))
    extra = {"date_placed": placed} if placed else {}
    if on_commit is None:
        return create_order(basket=basket, user=user, guest_email=guest_email if not user else "", **extra)
    with on_commit(execute=True):
        return create_order(basket=basket, user=user, guest_email=guest_email if not user else "", **extra)


def send(now=None):
    return outbox.send_due(now=now or timezone.now() + timedelta(days=2))


def post_purchase_mails():
    return Message.objects.filter(tool=followups.POST_PURCHASE)


# Post-purchase ----------------------------------------------------------------------------------------------------
def test_order_placed_twice_gives_one_mail_and_one_voucher(django_user_model, django_capture_on_commit_callbacks):
    post_purchase()
    user = customer(django_user_model)
    order = place(user, on_commit=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_placed.send(sender=object, order=order, user=user)
    assert post_purchase_mails().count() == 1
    send()
    send()
    assert len(mail.outbox) == 1
    assert PersonalVoucher.objects.filter(purpose="post_purchase").count() == 1
    binding = PersonalVoucher.objects.get(purpose="post_purchase")
    assert binding.key == f"post_purchase:{order.number}" and binding.user_id == user.pk
    assert binding.voucher.code in mail.outbox[0].body
    assert binding.voucher.usage == binding.voucher.SINGLE_USE


def test_the_mail_waits_for_the_delay(django_user_model, django_capture_on_commit_callbacks):
    post_purchase(delay_hours=24)
    placed = timezone.now() - timedelta(hours=2)
    order = place(customer(django_user_model), placed=placed, on_commit=django_capture_on_commit_callbacks)
    assert post_purchase_mails().get().due_at == order.date_placed + timedelta(hours=24)
    send(now=placed + timedelta(hours=23, minutes=59))
    assert mail.outbox == [] and not PersonalVoucher.objects.exists()
    send(now=placed + timedelta(hours=24))
    assert len(mail.outbox) == 1


def test_a_cancelled_order_gets_no_mail_and_no_voucher(django_user_model, django_capture_on_commit_callbacks):
    post_purchase()
    order = place(customer(django_user_model), on_commit=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order.set_status("Cancelled")
    assert post_purchase_mails().get().state == State.CANCELLED
    send()
    assert mail.outbox == [] and not PersonalVoucher.objects.exists()


def test_a_status_changed_without_oscars_signal_is_caught_at_send_time(django_user_model,
                                                                       django_capture_on_commit_callbacks):
    post_purchase()
    order = place(customer(django_user_model), on_commit=django_capture_on_commit_callbacks)
    Order.objects.filter(pk=order.pk).update(status="refunded")  # case differs from the setting: still matched
    send()
    message = post_purchase_mails().get()
    assert message.state == State.CANCELLED and message.close_reason == "the order was cancelled or refunded"
    assert mail.outbox == [] and not PersonalVoucher.objects.exists()


def test_cancelling_after_the_mail_went_out_changes_nothing(django_user_model, django_capture_on_commit_callbacks):
    post_purchase()
    order = place(customer(django_user_model), on_commit=django_capture_on_commit_callbacks)
    send()
    with django_capture_on_commit_callbacks(execute=True):
        order.set_status("Being processed")
        order.set_status("Cancelled")
    assert post_purchase_mails().get().state == State.SENT
    assert len(mail.outbox) == 1


def test_the_cancelled_statuses_are_the_shops_own(django_user_model, django_capture_on_commit_callbacks, settings,
                                                   monkeypatch):
    settings.JOURNEY = {**settings.JOURNEY, "ORDER_CANCELLED_STATUSES": ["Anulado"]}
    monkeypatch.setattr(Order, "pipeline", {"Pending": ("Anulado", "Cancelled"), "Anulado": (), "Cancelled": ()})
    post_purchase()
    first = place(customer(django_user_model, "ana"), on_commit=django_capture_on_commit_callbacks)
    second = place(customer(django_user_model, "bea"), on_commit=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        first.set_status("Anulado")
        second.set_status("Cancelled")  # not a cancellation in this shop
    states = dict(post_purchase_mails().values_list("context__order_id", "state"))
    assert states == {first.pk: State.CANCELLED, second.pk: State.SCHEDULED}


def test_orders_below_the_minimum_value_get_no_mail(django_user_model, django_capture_on_commit_callbacks):
    post_purchase(min_order_total=Decimal("25.00"))
    place(customer(django_user_model, "ana"), price="24.99", on_commit=django_capture_on_commit_callbacks)
    big = place(customer(django_user_model, "bea"), price="25.00", on_commit=django_capture_on_commit_callbacks)
    assert list(post_purchase_mails().values_list("context__order_id", flat=True)) == [big.pk]


def test_first_order_only_skips_later_orders(django_user_model, django_capture_on_commit_callbacks):
    post_purchase(first_order_only=True)
    user = customer(django_user_model)
    first = place(user, placed=timezone.now() - timedelta(days=3), on_commit=django_capture_on_commit_callbacks)
    place(user, on_commit=django_capture_on_commit_callbacks)
    guest_first = place(guest_email="Guest@Example.com", on_commit=django_capture_on_commit_callbacks)
    place(guest_email="guest@example.com", on_commit=django_capture_on_commit_callbacks)
    assert sorted(post_purchase_mails().values_list("context__order_id", flat=True)) == [first.pk, guest_first.pk]


def test_every_order_gets_a_mail_by_default(django_user_model, django_capture_on_commit_callbacks):
    post_purchase()
    user = customer(django_user_model)
    place(user, on_commit=django_capture_on_commit_callbacks)
    place(user, on_commit=django_capture_on_commit_callbacks)
    send()
    assert len(mail.outbox) == 2
    assert PersonalVoucher.objects.filter(purpose="post_purchase").count() == 2


def test_nothing_is_scheduled_while_the_program_is_off(django_user_model, django_capture_on_commit_callbacks):
    post_purchase(is_active=False)
    place(customer(django_user_model), on_commit=django_capture_on_commit_callbacks)
    assert not post_purchase_mails().exists()


def test_turning_the_program_off_stops_scheduled_mails(django_user_model, django_capture_on_commit_callbacks):
    post_purchase()
    place(customer(django_user_model), on_commit=django_capture_on_commit_callbacks)
    post_purchase(is_active=False)
    send()
    assert mail.outbox == [] and post_purchase_mails().get().state == State.CANCELLED


def test_withdrawn_consent_means_no_mail(django_user_model, django_capture_on_commit_callbacks):
    post_purchase()
    place(customer(django_user_model, "ana", consent="withdrawn"), on_commit=django_capture_on_commit_callbacks)
    bea = customer(django_user_model, "bea")
    place(bea, on_commit=django_capture_on_commit_callbacks)
    assert post_purchase_mails().count() == 1  # ana: none scheduled
    CustomerProfile.objects.create(user=bea, marketing_consent="withdrawn")  # bea changes her mind before the send
    send()
    assert mail.outbox == []
    assert post_purchase_mails().get().close_reason == "the customer has not consented to marketing mail"


def test_the_consent_policy_decides_for_guests(settings, django_user_model, django_capture_on_commit_callbacks):
    settings.JOURNEY = {**settings.JOURNEY, "CONSENT_POLICY": "consent"}
    post_purchase()
    place(guest_email="guest@example.com", on_commit=django_capture_on_commit_callbacks)
    place(customer(django_user_model, "ana"), on_commit=django_capture_on_commit_callbacks)
    opted_in = customer(django_user_model, "bea", consent="granted")
    place(opted_in, on_commit=django_capture_on_commit_callbacks)
    assert list(post_purchase_mails().values_list("to_email", flat=True)) == ["bea@example.com"]


def test_a_suppressed_address_gets_no_mail(django_user_model, django_capture_on_commit_callbacks):
    post_purchase()
    place(customer(django_user_model), on_commit=django_capture_on_commit_callbacks)
    suppression.suppress("ana@example.com", Suppression.Reason.UNSUBSCRIBED)
    send()
    assert mail.outbox == [] and post_purchase_mails().get().state == State.CANCELLED


def test_the_mail_shows_the_voucher_terms_and_related_products(django_user_model,
                                                               django_capture_on_commit_callbacks):
    post_purchase(discount_kind="fixed", discount_value=Decimal("5.00"), min_basket=Decimal("30.00"))
    cheese, crackers = (create_product(title=t, price=Decimal("3.00"), num_in_stock=9) for t in ("Cheese", "Crackers"))
    build = RelatedBuild.objects.create(status=RelatedBuild.Status.LIVE)
    RelatedProduct.objects.create(build=build, product=cheese, related=crackers, kind=ListKind.BOUGHT_TOGETHER,
                                  rank=1, score=1.0, source=Source.COMPUTED)
    place(customer(django_user_model), products=[cheese], on_commit=django_capture_on_commit_callbacks)
    send()
    sent = mail.outbox[0]
    html = sent.alternatives[0][0]
    assert "Thank you, Ana!" in html and "Crackers" in html and "Crackers" in sent.body
    assert "5.00" in sent.body and "30.00" in sent.body
    assert sent.extra_headers["List-Unsubscribe"].startswith("<http://testserver/journey/u/")
    assert sent.anymail_test_params["tags"] == ["journey", "post_purchase", "post-purchase"]


def test_a_failing_related_products_tool_does_not_stop_the_mail(django_user_model, django_capture_on_commit_callbacks,
                                                                monkeypatch):
    from journey.loyalty.followups import mail as followups_mail

    def broken(*args, **kwargs):
        raise RuntimeError("related lists unavailable")

    monkeypatch.setattr(followups_mail, "related_for_baskets", broken)
    post_purchase()
    place(customer(django_user_model), on_commit=django_capture_on_commit_callbacks)
    send()
    assert len(mail.outbox) == 1 and "You may also like" not in mail.outbox[0].body


def test_the_mail_is_in_the_customers_language(django_user_model, django_capture_on_commit_callbacks):
    post_purchase()
    place(customer(django_user_model, language="es"), on_commit=django_capture_on_commit_callbacks)
    send()
    assert post_purchase_mails().get().language == "es"
    assert '<html lang="es"' in mail.outbox[0].alternatives[0][0]


def test_a_guest_gets_the_mail_with_how_to_use_the_code(django_capture_on_commit_callbacks):
    post_purchase()
    place(guest_email="guest@example.com", on_commit=django_capture_on_commit_callbacks)
    send()
    assert "create an account with guest@example.com" in mail.outbox[0].body
    assert PersonalVoucher.objects.get().email == "guest@example.com"


# Win-back ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def lapsed_shop(django_user_model):
    """Who should get a win-back mail (90 days) today, and who should not."""
    now = timezone.now()
    ago = lambda days: now - timedelta(days=days)  # noqa: E731
    people = {name: customer(django_user_model, name) for name in
              ("ana", "bea", "cai", "dan", "eva", "fay", "gil", "hal", "ivy")}
    place(people["ana"], placed=ago(100))                       # lapsed: yes
    place(people["bea"], placed=ago(10))                        # recent: no
    # cai never ordered: no
    place(people["dan"], placed=ago(200)); place(people["dan"], placed=ago(5))  # noqa: E702  ordered again: no
    CustomerProfile.objects.create(user=people["eva"], marketing_consent="withdrawn")
    place(people["eva"], placed=ago(100))                       # withdrew consent: no
    place(people["fay"], placed=ago(100))
    suppression.suppress("fay@example.com", Suppression.Reason.HARD_BOUNCE)  # suppressed: no
    place(people["gil"], placed=ago(120))                       # lapsed: yes; his recent order was cancelled
    Order.objects.filter(pk=place(people["gil"], placed=ago(3)).pk).update(status="Cancelled")
    place(people["hal"], placed=ago(95))                        # ordered as a guest since: no
    place(guest_email="HAL@example.com", placed=ago(2))
    people["ivy"].is_active = False
    people["ivy"].save()
    place(people["ivy"], placed=ago(100))                       # account closed: no
    place(guest_email="Guest@Example.com", placed=ago(150))     # a lapsed guest: yes
    place(guest_email="guest@example.com", placed=ago(91))
    place(guest_email="newguest@example.com", placed=ago(30))   # a recent guest: no
    place(guest_email="ana@example.com", placed=ago(300))       # ana's old guest order: she is counted once
    return now, people


def winback_mails():
    return Message.objects.filter(tool=followups.WINBACK)


def test_winback_selects_exactly_the_lapsed_customers(lapsed_shop):
    now, _people = lapsed_shop
    winback(after_days=90)
    assert followups.schedule_winback(now=now) == 3
    assert sorted(winback_mails().values_list("to_email", flat=True)) == [
        "ana@example.com", "gil@example.com", "guest@example.com"]
    guest = winback_mails().get(to_email="guest@example.com")
    assert guest.user_id is None and guest.subject_key.startswith("winback:guest:")


def test_winback_leaves_guests_out_when_told(lapsed_shop, settings):
    now, _people = lapsed_shop
    winback(after_days=90, include_guests=False)
    followups.schedule_winback(now=now)
    assert sorted(winback_mails().values_list("to_email", flat=True)) == ["ana@example.com", "gil@example.com"]
    winback_mails().delete()
    winback(after_days=90)
    settings.JOURNEY = {**settings.JOURNEY, "CONSENT_POLICY": "consent"}
    CustomerProfile.objects.create(user=_people["ana"], marketing_consent="granted")
    followups.schedule_winback(now=now)
    assert list(winback_mails().values_list("to_email", flat=True)) == ["ana@example.com"]


LAPSED = ("ana@example.com", "gil@example.com", "guest@example.com")


def mail_count(*emails):
    return {email: winback_mails().filter(to_email=email).count() for email in emails}


def test_winback_is_sent_at_most_once_per_period(lapsed_shop):
    now, _people = lapsed_shop
    winback(after_days=90, mails_per_absence=2)
    assert followups.schedule_winback(now=now) == 3
    assert followups.schedule_winback(now=now) == 0
    followups.schedule_winback(now=now + timedelta(days=89))  # others lapse meanwhile (bea, dan…)
    assert mail_count(*LAPSED) == dict.fromkeys(LAPSED, 1)
    followups.schedule_winback(now=now + timedelta(days=90))  # the second mail of this absence
    assert mail_count(*LAPSED) == dict.fromkeys(LAPSED, 2)
    followups.schedule_winback(now=now + timedelta(days=200))  # two per absence, no more
    assert mail_count(*LAPSED) == dict.fromkeys(LAPSED, 2)
    steps = sorted(winback_mails().filter(to_email="ana@example.com").values_list("step", flat=True))
    assert steps == [1, 2]


def test_one_winback_mail_per_absence_by_default(lapsed_shop):
    now, _people = lapsed_shop
    winback(after_days=90)
    followups.schedule_winback(now=now)
    followups.schedule_winback(now=now + timedelta(days=400))
    assert mail_count(*LAPSED) == dict.fromkeys(LAPSED, 1)
    assert mail_count("bea@example.com") == {"bea@example.com": 1}  # lapsed since: her first


def test_a_customer_who_orders_again_is_not_mailed_and_can_lapse_again(lapsed_shop,
                                                                        django_capture_on_commit_callbacks):
    now, people = lapsed_shop
    winback(after_days=90)
    followups.schedule_winback(now=now)
    place(people["ana"], on_commit=django_capture_on_commit_callbacks)
    ana = winback_mails().get(to_email="ana@example.com")
    assert ana.state == State.CANCELLED and ana.close_reason == "the customer ordered"
    send(now=now + timedelta(minutes=1))
    assert sorted(m.to[0] for m in mail.outbox) == ["gil@example.com", "guest@example.com"]
    # Ninety days after that order she has lapsed again: a new absence, a new mail.
    followups.schedule_winback(now=now + timedelta(days=89))
    assert winback_mails().filter(to_email="ana@example.com", state=State.SCHEDULED).count() == 0
    followups.schedule_winback(now=now + timedelta(days=91))
    assert winback_mails().filter(to_email="ana@example.com", state=State.SCHEDULED).count() == 1


def test_an_order_the_receiver_missed_is_caught_at_send_time(lapsed_shop):
    now, people = lapsed_shop
    winback(after_days=90)
    followups.schedule_winback(now=now - timedelta(hours=1))
    place(people["gil"])  # its on-commit receiver never runs here
    send(now=now)
    assert winback_mails().get(to_email="gil@example.com").close_reason == "the customer ordered"
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@example.com", "guest@example.com"]


def test_winback_mail_carries_one_personal_voucher(lapsed_shop):
    now, people = lapsed_shop
    winback(after_days=90, discount_value=Decimal("15"))
    followups.schedule_winback(now=now)
    send(now=now)
    send(now=now)
    assert len(mail.outbox) == 3
    ana = next(m for m in mail.outbox if m.to == ["ana@example.com"])
    binding = PersonalVoucher.objects.get(user=people["ana"], purpose="winback")
    assert binding.voucher.code in ana.body and "15 % off your next order" in ana.body
    assert PersonalVoucher.objects.filter(purpose="winback").count() == 3


def test_winback_does_nothing_while_the_program_is_off(lapsed_shop):
    now, _people = lapsed_shop
    assert followups.schedule_winback(now=now) == 0
    assert not winback_mails().exists()


def test_a_suppressed_or_withdrawn_customer_after_scheduling_gets_nothing(lapsed_shop):
    now, people = lapsed_shop
    winback(after_days=90)
    followups.schedule_winback(now=now)
    suppression.suppress("ana@example.com", Suppression.Reason.UNSUBSCRIBED)
    CustomerProfile.objects.create(user=people["gil"], marketing_consent="withdrawn")
    send(now=now)
    assert [m.to for m in mail.outbox] == [["guest@example.com"]]


def test_the_winback_job_runs_daily_through_journey_tick(lapsed_shop):
    winback(after_days=90)
    outcome = jobs.run_due_jobs(only=["schedule_winback_mails"])[0]
    assert outcome.state == "ran" and outcome.summary == "scheduled 3 win-back mail(s)"
    assert jobs.run_job("schedule_winback_mails").state == "not_due"
    assert jobs.run_job("schedule_winback_mails", force=True).summary == "scheduled 0 win-back mail(s)"
    assert winback_mails().count() == 3


def test_the_winback_job_is_in_the_beat_schedule():
    from journey.celery import beat_schedule

    entry = beat_schedule()["journey.schedule_winback_mails"]
    assert entry["task"] == "journey.schedule_winback_mails" and entry["schedule"] == 24 * 3600


@pytest.mark.django_db(transaction=True)
@on_postgresql
def test_concurrent_winback_runs_schedule_one_mail_each(lapsed_shop):
    now, _people = lapsed_shop
    winback(after_days=90)
    results = run_at_once(4, lambda _i: followups.schedule_winback(now=now))
    assert sorted(results) == [0, 0, 0, 3]
    assert winback_mails().count() == 3
    send(now=now)
    assert len(mail.outbox) == 3 and PersonalVoucher.objects.filter(purpose="winback").count() == 3
