"""Birthday rewards: once a year, on time in the store's time zone, only with consent, safe to run again."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from journey.core import jobs, outbox, suppression
from journey.core.models import Message, PersonalVoucher, Suppression
from journey.loyalty.birthdays import services as birthdays
from journey.loyalty.birthdays.models import BirthdayProgram, BirthdayReward
from journey.loyalty.profiles.models import CustomerProfile
from journey.phases import Phase
from tests.race import on_postgresql, run_at_once

MADRID = ZoneInfo("Europe/Madrid")
pytestmark = pytest.mark.django_db


def local(tz, *args):
    return datetime(*args, tzinfo=tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz))


@pytest.fixture
def store(settings):
    settings.JOURNEY = {**settings.JOURNEY, "STORE_TIME_ZONE": "Europe/Madrid"}
    return settings


@pytest.fixture
def program(store):
    return BirthdayProgram.objects.create(is_active=True, discount_kind="percentage", discount_value=Decimal("15"),
                                          valid_days=30)


_counter = iter(range(1, 10**6))


def customer(month, day, *, email=None, consent="granted", changed_at=None, language="", year=None, **user):
    from django.contrib.auth import get_user_model

    n = next(_counter)
    email = f"c{n}@example.com" if email is None else email
    account = get_user_model().objects.create_user(username=f"c{n}", email=email, password="pw", **user)
    CustomerProfile.objects.create(user=account, birth_month=month, birth_day=day, birth_year=year,
                                   birthday_changed_at=changed_at, marketing_consent=consent, language=language)
    return account


def rewarded(user):
    return BirthdayReward.objects.filter(user=user, outcome=BirthdayReward.Outcome.REWARDED).exists()


def counts(user):
    return (BirthdayReward.objects.filter(user=user).count(),
            PersonalVoucher.objects.filter(user=user, purpose="birthday").count(),
            Message.objects.filter(user=user, kind=birthdays.KIND).count())


def test_a_customer_gets_one_voucher_and_one_mail_on_the_birthday_at_the_send_hour(program):
    ana = customer(5, 10, email="ana@example.com", first_name="Ana")
    report = birthdays.run(now=local(MADRID, 2026, 5, 10, 0, 30))
    assert report.rewarded == 1 and "1 rewarded" in str(report)
    reward = BirthdayReward.objects.get(user=ana)
    assert (reward.year, reward.birthday, reward.outcome) == (2026, date(2026, 5, 10), "rewarded")
    binding = PersonalVoucher.objects.get(key=f"birthday:{ana.pk}:2026")
    assert reward.voucher == binding and binding.user == ana
    offer = binding.voucher.offers.get()
    assert offer.benefit.value == Decimal("15") and binding.voucher.usage == binding.voucher.SINGLE_USE
    assert binding.voucher.end_datetime - binding.voucher.start_datetime == timedelta(days=30)
    message = Message.objects.get(kind=birthdays.KIND)
    assert (message.tool, message.marketing, message.to_email) == ("birthday", True, "ana@example.com")
    assert message.due_at == local(MADRID, 2026, 5, 10, 9, 0)

    outbox.send_due(now=local(MADRID, 2026, 5, 10, 8, 59))
    assert not mail.outbox  # not before the send hour
    outbox.send_due(now=local(MADRID, 2026, 5, 10, 9, 1))
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ana@example.com"] and "Happy birthday" in sent.subject
    assert binding.voucher.code in sent.body and "15 % off" in sent.body and "Happy birthday, Ana!" in sent.body
    assert binding.voucher.code in sent.alternatives[0][0]
    assert "/journey/u/" in sent.body  # marketing mail: unsubscribe link


def test_the_day_starts_at_midnight_in_the_store_time_zone_not_in_utc(settings, program):
    settings.JOURNEY = {**settings.JOURNEY, "STORE_TIME_ZONE": "America/Los_Angeles"}
    leo = customer(5, 10)
    birthdays.run(now=local("America/Los_Angeles", 2026, 5, 9, 23, 30))  # already May 10 in UTC
    assert not rewarded(leo)
    birthdays.run(now=local("America/Los_Angeles", 2026, 5, 10, 0, 5))
    assert rewarded(leo)


def test_a_store_east_of_utc_celebrates_before_the_utc_date_changes(settings, program):
    settings.JOURNEY = {**settings.JOURNEY, "STORE_TIME_ZONE": "Pacific/Auckland"}
    mia = customer(5, 10)
    now = local("Pacific/Auckland", 2026, 5, 10, 0, 30)
    assert now.astimezone(ZoneInfo("UTC")).date() == date(2026, 5, 9)
    birthdays.run(now=now)
    assert rewarded(mia)


@pytest.mark.parametrize(("day", "utc_send_time"), [
    (date(2026, 3, 29), datetime(2026, 3, 29, 7, 0, tzinfo=ZoneInfo("UTC"))),    # clocks go forward at 02:00
    (date(2026, 10, 25), datetime(2026, 10, 25, 8, 0, tzinfo=ZoneInfo("UTC"))),  # clocks go back at 03:00
])
def test_on_the_days_the_clocks_change_the_birthday_starts_at_local_midnight_and_mails_at_local_nine(
        program, day, utc_send_time):
    eva = customer(day.month, day.day)
    birthdays.run(now=local(MADRID, day.year, day.month, day.day, 0, 0) - timedelta(minutes=1))
    assert not rewarded(eva)
    birthdays.run(now=local(MADRID, day.year, day.month, day.day, 0, 1))
    assert rewarded(eva)
    assert Message.objects.get(user=eva).due_at == utc_send_time


def test_lead_days_send_the_gift_a_week_before_and_not_again_on_the_day(program):
    program.lead_days = 7
    program.save()
    noa = customer(5, 17)
    birthdays.run(now=local(MADRID, 2026, 5, 9, 12))
    assert not rewarded(noa)
    birthdays.run(now=local(MADRID, 2026, 5, 10, 12))
    reward = BirthdayReward.objects.get(user=noa)
    assert reward.birthday == date(2026, 5, 17) and reward.year == 2026
    outbox.send_due(now=local(MADRID, 2026, 5, 10, 12, 1))
    assert "coming" in mail.outbox[0].subject and "17 May" in mail.outbox[0].body
    birthdays.run(now=local(MADRID, 2026, 5, 17, 12))
    assert counts(noa) == (1, 1, 1)


def test_a_birthday_early_in_january_with_lead_days_counts_for_the_new_year(program):
    program.lead_days = 7
    program.save()
    ian = customer(1, 3)
    birthdays.run(now=local(MADRID, 2026, 12, 27, 10))
    assert BirthdayReward.objects.get(user=ian).year == 2027


def test_lengthening_the_lead_time_skips_nobody(program):
    early, middle = customer(5, 11), customer(5, 14)
    birthdays.run(now=local(MADRID, 2026, 5, 10, 10))
    program.lead_days = 7
    program.save()
    birthdays.run(now=local(MADRID, 2026, 5, 10, 11))
    assert rewarded(early) and rewarded(middle)


def test_feb_29_birthdays_are_celebrated_on_feb_28_in_years_without_feb_29(program):
    leap_born, feb_28 = customer(2, 29), customer(2, 28)
    birthdays.run(now=local(MADRID, 2027, 2, 27, 10))
    assert not rewarded(leap_born)
    birthdays.run(now=local(MADRID, 2027, 2, 28, 10))
    assert rewarded(leap_born) and rewarded(feb_28)
    assert BirthdayReward.objects.get(user=leap_born).birthday == date(2027, 2, 28)
    birthdays.run(now=local(MADRID, 2027, 3, 1, 10))
    assert counts(leap_born) == (1, 1, 1)


def test_feb_29_birthdays_are_celebrated_on_feb_29_in_leap_years(program):
    leap_born, feb_28 = customer(2, 29), customer(2, 28)
    birthdays.run(now=local(MADRID, 2028, 2, 28, 10))
    assert rewarded(feb_28) and not rewarded(leap_born)
    birthdays.run(now=local(MADRID, 2028, 2, 29, 10))
    assert BirthdayReward.objects.get(user=leap_born).birthday == date(2028, 2, 29)


def test_running_the_job_twice_gives_one_voucher_and_one_mail(program):
    ana, ben = customer(5, 10), customer(5, 10)
    now = local(MADRID, 2026, 5, 10, 10)
    first, second = birthdays.run(now=now), birthdays.run(now=now)
    assert first.rewarded == 2 and second.rewarded == 0
    # Even forgetting where it was (a restored backup, a manual reset) does not reward anyone twice.
    BirthdayProgram.objects.update(processed_through=None)
    assert birthdays.run(now=now).rewarded == 0
    outbox.send_due(now=now)
    outbox.send_due(now=now)
    assert counts(ana) == counts(ben) == (1, 1, 1)
    assert len(mail.outbox) == 2


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_give_one_voucher_and_one_mail_each(store):
    BirthdayProgram.objects.create(is_active=True)
    people = [customer(5, 10) for _ in range(20)]
    now = local(MADRID, 2026, 5, 10, 10)
    reports = run_at_once(2, lambda _i: birthdays.run(now=now))
    assert sorted(r.rewarded for r in reports) == [0, 20]
    assert all(counts(person) == (1, 1, 1) for person in people)
    outbox.send_due(now=now)
    assert len(mail.outbox) == 20


def test_a_late_run_catches_up_on_the_missed_days_and_mails_now(program):
    BirthdayProgram.objects.update(processed_through=date(2026, 5, 7))
    missed = [customer(5, 8), customer(5, 9)]
    today = customer(5, 10)
    now = local(MADRID, 2026, 5, 10, 15)
    report = birthdays.run(now=now)
    assert report.days == [date(2026, 5, 8), date(2026, 5, 9), date(2026, 5, 10)]
    assert all(rewarded(person) for person in [*missed, today])
    assert set(Message.objects.values_list("due_at", flat=True)) == {now}  # past send times: due now
    assert BirthdayProgram.load().processed_through == date(2026, 5, 10)


def test_catching_up_is_bounded(settings, program):
    settings.JOURNEY = {**settings.JOURNEY, "BIRTHDAY_CATCH_UP_DAYS": 3}
    BirthdayProgram.objects.update(processed_through=date(2026, 4, 1))
    long_ago, recent = customer(5, 2), customer(5, 8)
    report = birthdays.run(now=local(MADRID, 2026, 5, 10, 10))
    assert report.days[0] == date(2026, 5, 7)
    assert rewarded(recent) and not BirthdayReward.objects.filter(user=long_ago).exists()


def test_the_first_run_does_not_mail_past_birthdays(program):
    yesterday = customer(5, 9)
    birthdays.run(now=local(MADRID, 2026, 5, 10, 10))
    assert not BirthdayReward.objects.filter(user=yesterday).exists()


def test_a_birthday_entered_shortly_before_the_date_waits_until_next_year(program):
    now = local(MADRID, 2026, 5, 10, 10)
    gamer = customer(5, 10, changed_at=now - timedelta(days=10))
    honest = customer(5, 10, changed_at=now - timedelta(days=31))
    birthdays.run(now=now)
    assert rewarded(honest)
    skipped = BirthdayReward.objects.get(user=gamer)
    assert (skipped.outcome, skipped.reason) == ("skipped", "birthday entered recently")
    assert counts(gamer) == (1, 0, 0)
    birthdays.run(now=local(MADRID, 2027, 5, 10, 10))
    assert BirthdayReward.objects.get(user=gamer, year=2027).outcome == "rewarded"


def test_the_waiting_period_is_a_setting(settings, program):
    settings.JOURNEY = {**settings.JOURNEY, "BIRTHDAY_CHANGE_WAIT_DAYS": 5}
    now = local(MADRID, 2026, 5, 10, 10)
    recent = customer(5, 10, changed_at=now - timedelta(days=10))
    birthdays.run(now=now)
    assert rewarded(recent)


def test_withdrawn_consent_means_no_voucher_and_no_mail(program):
    no = customer(5, 10, consent="withdrawn")
    birthdays.run(now=local(MADRID, 2026, 5, 10, 10))
    assert BirthdayReward.objects.get(user=no).reason == "no marketing consent"
    assert counts(no) == (1, 0, 0)


def test_with_the_consent_policy_only_an_explicit_opt_in_gets_the_mail(settings, program):
    settings.JOURNEY = {**settings.JOURNEY, "CONSENT_POLICY": "consent"}
    never_asked, opted_in = customer(5, 10, consent=""), customer(5, 10, consent="granted")
    birthdays.run(now=local(MADRID, 2026, 5, 10, 10))
    assert rewarded(opted_in) and not rewarded(never_asked)


def test_consent_withdrawn_after_scheduling_cancels_the_mail(program):
    from journey.loyalty.profiles.services import update_profile

    ana = customer(5, 10)
    birthdays.run(now=local(MADRID, 2026, 5, 10, 0, 30))
    CustomerProfile.objects.filter(user=ana).update(marketing_consent="withdrawn")  # e.g. by staff, in bulk
    outbox.send_due(now=local(MADRID, 2026, 5, 10, 10))
    assert not mail.outbox
    assert Message.objects.get(user=ana).state == Message.State.CANCELLED

    ben = customer(5, 11)
    birthdays.run(now=local(MADRID, 2026, 5, 11, 0, 30))
    update_profile(ben, consent="withdrawn", wording="Send me offers", source="account")
    assert Message.objects.get(user=ben).state == Message.State.CANCELLED


def test_suppressed_and_unsubscribed_addresses_get_no_mail(program):
    bounced = customer(5, 10, email="bounced@example.com")
    suppression.suppress("Bounced@example.com", Suppression.Reason.HARD_BOUNCE)
    later = customer(5, 10, email="later@example.com")
    birthdays.run(now=local(MADRID, 2026, 5, 10, 0, 30))
    assert BirthdayReward.objects.get(user=bounced).reason == "address suppressed"
    assert counts(bounced) == (1, 0, 0)
    suppression.suppress("later@example.com", Suppression.Reason.UNSUBSCRIBED)  # unsubscribed from another mail
    outbox.send_due(now=local(MADRID, 2026, 5, 10, 10))
    assert not mail.outbox
    assert Message.objects.get(user=later).state in (Message.State.CANCELLED, Message.State.SUPPRESSED)


def test_inactive_accounts_and_customers_without_birthday_or_email_are_left_alone(program):
    gone = customer(5, 10, is_active=False)
    no_email = customer(5, 10, email=" ")
    no_birthday = customer(None, None)
    report = birthdays.run(now=local(MADRID, 2026, 5, 10, 10))
    assert report.rewarded == 0 and report.skipped == {"no email address": 1}
    assert not BirthdayReward.objects.filter(user__in=[gone, no_birthday]).exists()
    assert counts(no_email) == (1, 0, 0)


def test_the_mail_speaks_the_customers_language(program):
    sofia = customer(5, 10, language="es")
    birthdays.run(now=local(MADRID, 2026, 5, 10, 10))
    assert Message.objects.get(user=sofia).language == "es"


def test_a_program_that_is_off_does_nothing_and_does_not_mail_a_backlog_when_turned_on(program):
    BirthdayProgram.objects.update(is_active=False, processed_through=date(2026, 5, 1))
    before = customer(5, 9)
    assert str(birthdays.run(now=local(MADRID, 2026, 5, 9, 10))) == "the birthday program is off"
    BirthdayProgram.objects.update(is_active=True)
    on_the_day = customer(5, 10)
    birthdays.run(now=local(MADRID, 2026, 5, 10, 10))
    assert rewarded(on_the_day) and not BirthdayReward.objects.filter(user=before).exists()


def test_the_job_is_scheduled_with_celery_beat_and_journey_tick(program):
    from journey.celery import beat_schedule

    entry = beat_schedule()["journey.birthday_rewards"]
    assert entry["task"] == "journey.birthday_rewards" and entry["schedule"] == 3600
    customer(*_today_in_madrid())
    [outcome] = jobs.run_due_jobs(only=["birthday_rewards"])
    assert outcome.state == "ran" and "1 rewarded" in outcome.summary
    assert jobs.run_job("birthday_rewards", force=True).summary.startswith("nothing to do")


def _today_in_madrid():
    from django.utils import timezone

    today = timezone.now().astimezone(MADRID).date()
    return today.month, today.day


def test_the_celery_task_runs_the_job(program):
    from journey.loyalty.tasks import birthday_rewards

    customer(*_today_in_madrid())
    assert birthday_rewards.apply().get() == "ran"
    assert BirthdayReward.objects.count() == 1


def test_the_tool_reports_its_health_and_numbers(program):
    from journey.registry import Status, registry

    tool = registry.get("birthday")
    assert tool.phases == (Phase.RETAIN,)
    assert tool.check_health().status == Status.WARNING  # on, but nobody has a birthday yet
    customer(5, 10)
    jobs.run_job("birthday_rewards", force=True)
    jobs.run_job("send_due_messages", force=True)
    assert tool.check_health().status == Status.OK
    BirthdayProgram.objects.update(is_active=False)
    assert tool.check_health().status == Status.IDLE
    labels = [str(m.label) for m in tool.get_metrics(local(MADRID, 2000, 1, 1), local(MADRID, 2100, 1, 1))]
    winback = registry.get("winback").get_metrics(local(MADRID, 2000, 1, 1), local(MADRID, 2100, 1, 1))
    assert labels == [str(m.label) for m in winback]  # every Retain program shows the same numbers
    assert labels[:5] == ["Mails sent", "Opened", "Clicked", "Vouchers redeemed", "Revenue from voucher orders"]


def test_the_metrics_count_mails_opens_redemptions_revenue_and_repeat_orders(program, store):
    from django.test import RequestFactory
    from django.utils import timezone
    from oscar.test.factories import create_order

    from journey.core import vouchers
    from journey.loyalty.numbers import program_numbers
    from journey.registry import registry
    from journey.test.factories import basket_with

    store.JOURNEY = {**store.JOURNEY, "BIRTHDAY_SEND_HOUR": 0}  # today's mail is due now, whatever the hour
    now = timezone.now()
    today = now.astimezone(MADRID).date()
    ana = customer(today.month, today.day)
    birthdays.handle_day(BirthdayProgram.load(), today, now=now)
    outbox.send_due(now=now)
    Message.objects.filter(user=ana).update(opened_at=now, clicked_at=now)
    voucher = PersonalVoucher.objects.get(user=ana).voucher
    basket = basket_with(owner=ana, price=Decimal("40.00"))
    request = RequestFactory().get("/basket/")
    request.user = ana
    assert vouchers.apply_to_basket(basket, voucher, request)
    order = create_order(user=ana, basket=basket)  # Oscar's checkout: the voucher's discount is on the order

    start, end = now - timedelta(days=1), timezone.now() + timedelta(days=1)
    result = program_numbers("birthday", start, end)
    assert (result.sent, result.opened, result.clicked, result.vouchers_issued) == (1, 1, 1, 1)
    assert (result.vouchers_redeemed, result.revenue) == (1, order.total_incl_tax)
    assert result.discount == Decimal("6.00")  # the program's 15 %
    assert (result.recipients, result.recipients_reordered, result.repeat_rate) == (1, 1, Decimal("100.0"))
    shown = {str(m.label): m.value for m in registry.get("birthday").get_metrics(start, end)}
    assert shown["Mails sent"] == 1 and shown["Vouchers redeemed"] == 1
    assert shown["Revenue from voucher orders"] == order.total_incl_tax
    assert shown["Ordered again (recipients)"] == Decimal("100.0")


def test_issuing_vouchers_in_bulk_is_idempotent_per_key_like_issuing_one(django_user_model):
    from journey.core import vouchers

    ana, ben = (django_user_model.objects.create_user(username=n, email=f"{n}@example.com") for n in ("ana", "ben"))
    single = vouchers.issue_personal_voucher(key="k:ana", purpose="test", kind="fixed", value=5, valid_days=10,
                                             user=ana, email=ana.email)
    wanted = [vouchers.VoucherFor(key="k:ana", email=ana.email, user_id=ana.pk),
              vouchers.VoucherFor(key="k:ben", email="Ben@Example.com", user_id=ben.pk)]
    first = vouchers.issue_personal_vouchers(wanted, purpose="test", kind="fixed", value=5, valid_days=10)
    again = vouchers.issue_personal_vouchers(wanted, purpose="test", kind="fixed", value=5, valid_days=10)
    assert first["k:ana"].voucher_id == single.voucher_id == again["k:ana"].voucher_id
    assert first["k:ben"].voucher_id == again["k:ben"].voucher_id
    bens = first["k:ben"]
    bens.refresh_from_db()
    assert (bens.user_id, bens.email, bens.purpose) == (ben.pk, "ben@example.com", "test")
    voucher = bens.voucher
    assert voucher.code == voucher.code.upper() and len(voucher.code) == 14
    assert list(voucher.offers.all()) == list(single.voucher.offers.all())
    assert voucher.end_datetime - voucher.start_datetime == timedelta(days=10)
    assert PersonalVoucher.objects.count() == 2
