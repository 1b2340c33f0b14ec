"""The numbers of the Retain programs, on a small shop whose figures were worked out by hand."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import create_order

from journey.core import vouchers
from journey.core.models import Message
from journey.loyalty import numbers
from journey.loyalty.followups.tool import POST_PURCHASE_TOOL, WINBACK_TOOL
from journey.test.factories import basket_with

Order = get_model("order", "Order")
OrderDiscount = get_model("order", "OrderDiscount")
pytestmark = pytest.mark.django_db


def order(user=None, *, days_ago, total="10.00", guest_email="", status=None):
    placed = timezone.now() - timedelta(days=days_ago)
    made = create_order(basket=basket_with(owner=user, price=Decimal(total)), user=user,
                        guest_email="" if user else guest_email, date_placed=placed)
    if status:
        Order.objects.filter(pk=made.pk).update(status=status)
    return made


def mail(tool, *, user=None, email="", days_ago=None, opened=False, clicked=False, key=None):
    now = timezone.now()
    sent = now - timedelta(days=days_ago) if days_ago is not None else None
    return Message.objects.create(
        tool=tool, kind=tool, subject_key=key or f"{tool}:{user.pk if user else email}:{days_ago}", step=1,
        to_email=user.email if user else email, user=user, due_at=sent or now,
        state=Message.State.SENT if sent else Message.State.SCHEDULED, sent_at=sent,
        delivered_at=sent if opened else None, opened_at=sent if opened else None,
        clicked_at=sent if clicked else None,
    )


def redeem(made, tool, *, customer, amount):
    binding = vouchers.issue_personal_voucher(key=f"{tool}:test:{made.pk}", purpose=tool, kind="fixed", value=amount,
                                              valid_days=30, user=customer)
    OrderDiscount.objects.create(order=made, voucher_id=binding.voucher_id, voucher_code=binding.voucher.code,
                                 amount=Decimal(amount), offer_name=f"journey {tool}")
    return binding


@pytest.fixture
def shop(django_user_model):
    """Period: the last 30 days.

    Win-back mails in the period: ana (−20 d, opened + clicked), bea (−15 d, opened), a guest (−5 d).
    Ana ordered at −10 d with her win-back voucher (40.00, 5.00 off); the guest ordered at −2 d; bea did not.
    Eva's win-back voucher was used on an order that was then cancelled; bea's on an order before the period.
    Cai (scheduled mail, not sent), dan and eva got no win-back mail; dan ordered at −3 d (with a post-purchase
    voucher, 25.00); fay only ordered in the period (no order before it: not a comparable customer).
    """
    people = {n: django_user_model.objects.create_user(username=n, email=f"{n}@example.com", password="pw")
              for n in ("ana", "bea", "cai", "dan", "eva", "fay")}
    ana, bea, cai, dan, eva, fay = (people[n] for n in ("ana", "bea", "cai", "dan", "eva", "fay"))
    order(ana, days_ago=70)
    order(bea, days_ago=100)
    order(cai, days_ago=45)
    order(dan, days_ago=60)
    order(eva, days_ago=50)
    order(guest_email="guest@example.com", days_ago=80)
    mail("winback", user=ana, days_ago=40)  # before the period
    mail("winback", user=ana, days_ago=20, opened=True, clicked=True)
    mail("winback", user=bea, days_ago=15, opened=True)
    mail("winback", email="guest@example.com", days_ago=5)
    mail("winback", user=cai)  # scheduled, never sent
    mail("post_purchase", user=dan, days_ago=4, opened=True)
    redeem(order(ana, days_ago=10, total="40.00"), "winback", customer=ana, amount="5.00")
    order(guest_email="Guest@example.com", days_ago=2)
    redeem(order(eva, days_ago=1, total="30.00", status="Cancelled"), "winback", customer=eva, amount="5.00")
    redeem(order(bea, days_ago=40, total="20.00"), "winback", customer=bea, amount="5.00")
    redeem(order(dan, days_ago=3, total="25.00"), "post_purchase", customer=dan, amount="2.50")
    order(fay, days_ago=7)
    now = timezone.now()
    return now - timedelta(days=30), now + timedelta(minutes=10)


def test_winback_numbers_match_the_hand_count(shop):
    start, end = shop
    got = numbers.program_numbers("winback", start, end)
    assert (got.sent, got.delivered, got.opened, got.clicked) == (3, 2, 2, 1)
    assert got.vouchers_issued == 3
    assert (got.vouchers_redeemed, got.orders) == (1, 1)
    assert got.revenue == Decimal("40.00") and got.discount == Decimal("5.00")
    # Recipients: ana (ordered after her mail), bea (did not), the guest (did) → 2 of 3.
    assert (got.recipients, got.recipients_reordered, got.repeat_rate) == (3, 2, Decimal("66.7"))
    # Comparable non-recipients: cai, dan, eva (fay's first order is in the period) → only dan ordered.
    assert (got.non_recipients, got.non_recipients_reordered) == (3, 1)
    assert got.non_recipient_repeat_rate == Decimal("33.3")
    assert (got.open_rate, got.click_rate) == (Decimal("66.7"), Decimal("33.3"))


def test_post_purchase_numbers_count_only_their_own_mails_and_vouchers(shop):
    start, end = shop
    got = numbers.program_numbers("post_purchase", start, end)
    assert (got.sent, got.opened, got.vouchers_redeemed, got.revenue, got.discount) == (
        1, 1, 1, Decimal("25.00"), Decimal("2.50"))
    assert (got.recipients, got.recipients_reordered) == (1, 1)  # dan ordered a day after his mail
    # ana, bea, cai, eva and the guest had ordered before the period; ana and the guest ordered in it.
    assert (got.non_recipients, got.non_recipients_reordered) == (5, 2)


def test_a_period_without_mails_has_no_rates(shop):
    start, _end = shop
    got = numbers.program_numbers("winback", start - timedelta(days=400), start - timedelta(days=300))
    assert got.sent == 0 and got.repeat_rate is None and got.open_rate is None and got.revenue == Decimal("0.00")


def test_the_daily_series_puts_each_mail_and_order_on_its_day(shop):
    start, end = shop
    days = numbers.daily_series("winback", start, end)
    assert sum(d.sent for d in days) == 3 and sum(d.clicked for d in days) == 1
    redeemed = [d for d in days if d.recovered]
    assert len(redeemed) == 1 and redeemed[0].recovered_revenue == Decimal("40.00")


def test_the_journey_map_shows_the_programs_in_retain(shop):
    start, end = shop
    metrics = {str(m.label): m.value for m in WINBACK_TOOL.get_metrics(start, end)}
    assert metrics["Mails sent"] == 3 and metrics["Vouchers redeemed"] == 1
    assert metrics["Ordered again (recipients)"] == Decimal("66.7")
    assert "retain" in [p.value for p in POST_PURCHASE_TOOL.phases]


def test_the_admin_report_shows_each_program(shop, admin_client):
    response = admin_client.get(reverse("admin:journey_retain_report") + "?program=winback&period=30")
    assert response.status_code == 200
    assert response.context["numbers"].sent == 3
    assert b"66.7" in response.content
    response = admin_client.get(reverse("admin:journey_retain_report") + "?program=nonsense&start=2020-13-01")
    assert response.status_code == 200 and response.context["program"] == "post_purchase"


def test_each_program_has_one_settings_page_that_checks_the_voucher_terms(admin_client):
    response = admin_client.get(reverse("admin:journey_winbackprogram_changelist"))
    assert response.status_code == 302 and response.url == reverse("admin:journey_winbackprogram_change", args=[1])
    url = reverse("admin:journey_postpurchaseprogram_change", args=[1])
    form = {"is_active": "on", "min_order_total": "20", "delay_hours": "48", "discount_kind": "percentage",
            "discount_value": "150", "valid_days": "30", "min_basket": "0", "_save": "1"}
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "A percentage discount must be above 0 and at most 100." in response.content.decode()
    response = admin_client.post(url, {**form, "discount_value": "15"})
    assert response.status_code == 302
    from journey.loyalty.followups.models import PostPurchaseProgram

    program = PostPurchaseProgram.load()
    assert program.is_active and program.delay_hours == 48 and program.discount_value == Decimal("15")


def test_the_retain_report_lists_birthday_beside_the_other_programs_with_the_same_numbers(shop, client,
                                                                                          django_user_model):
    from django.contrib.auth.models import Permission

    fay = django_user_model.objects.get(username="fay")
    mail("birthday", user=fay, days_ago=2, opened=True, clicked=True)
    redeem(order(fay, days_ago=1, total="30.00"), "birthday", customer=fay, amount="3.00")
    owner = django_user_model.objects.create_user(username="owner", password="pw", is_staff=True)
    owner.user_permissions.add(Permission.objects.get(codename="view_birthdayprogram"))
    client.force_login(owner)  # may see the birthday program only: the report is open to them too

    response = client.get(reverse("admin:journey_retain_report") + "?program=birthday&period=30")

    assert response.status_code == 200
    assert [key for key, _name in response.context["programs"]] == ["post_purchase", "winback", "birthday"]
    figures = response.context["numbers"]
    assert (figures.sent, figures.opened, figures.clicked, figures.vouchers_redeemed) == (1, 1, 1, 1)
    assert figures.revenue == Decimal("30.00") and figures.repeat_rate == Decimal("100.0")
    shown = [(str(m.label), m.value) for m in response.context["headline"]]
    assert shown == [(str(m.label), m.value) for m in numbers.metrics(numbers.program_numbers("birthday", *shop),
                                                                      full=True)]
    assert reverse("admin:journey_birthdayprogram_changelist") in response.content.decode()


def test_the_birthday_settings_page_links_to_its_report(admin_client):
    from journey.loyalty.birthdays.models import BirthdayProgram

    page = admin_client.get(reverse("admin:journey_birthdayprogram_change", args=[BirthdayProgram.load().pk]))
    assert page.status_code == 200
    assert reverse("admin:journey_retain_report") + "?program=birthday" in page.content.decode()
