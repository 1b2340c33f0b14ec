"""Orders attributed to journey tools, first and last touch."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from oscar.core.loading import get_model
from oscar.test.factories import create_order, create_product

from journey.core import events
from journey.core.events import Kind
from journey.core.models import JourneyEvent, Message, PersonalVoucher
from journey.exceptions import AttributionError
from journey.insights.attribution import NONE, attribute_orders
from journey.recovery.models import BasketActivity
from journey.related.models import ListKind, RelatedClick
from journey.test.factories import basket_with

pytestmark = pytest.mark.django_db
Order = get_model("order", "Order")
PLACED = datetime(2025, 3, 10, 16, 0, tzinfo=UTC)  # UTC: "30 days before" is exact time, not wall clock
START, END = PLACED - timedelta(days=1), PLACED + timedelta(days=1)


def order(user=None, *, when=PLACED, price="10.00", product=None, email=""):
    product = product or create_product(price=Decimal(price), num_in_stock=10)
    placed = create_order(user=user, basket=basket_with([product], owner=user))
    Order.objects.filter(pk=placed.pk).update(date_placed=when, guest_email=email)
    placed.refresh_from_db()
    return placed


def touch(kind, when, **fields):
    JourneyEvent.objects.bulk_create([events.build(kind, at=when, **fields)])


def tools(result):
    return {o.number: o.tool for o in result.orders}


def test_a_recovered_order_is_attributed_to_recovery(django_user_model):
    customer = django_user_model.objects.create_user("r", "r@example.com", "pw")
    recovered = order(customer, price="40.00")
    BasketActivity.objects.update_or_create(basket_id=recovered.basket_id, defaults={
        "user": customer, "email": "r@example.com", "last_activity_at": PLACED,
        "state": BasketActivity.State.RECOVERED, "order_number": recovered.number, "ordered_at": PLACED,
        "first_clicked_at": PLACED - timedelta(hours=3), "recovered_revenue": recovered.total_incl_tax})
    plain = order(price="5.00")
    for model in ("last_touch", "first_touch"):
        result = attribute_orders(START, END, model)
        assert tools(result) == {recovered.number: "recovery", plain.number: NONE}
        assert result.tool("recovery").revenue == recovered.total_incl_tax
        assert result.tool("recovery").orders == 1
        assert result.tool(NONE).revenue == plain.total_incl_tax
        assert result.total_revenue == recovered.total_incl_tax + plain.total_incl_tax


def test_a_guest_order_after_a_campaign_link_is_attributed_to_that_campaign(db):
    guest = order(email="guest@example.com", price="25.00")
    touch(Kind.CAMPAIGN_LANDING, PLACED - timedelta(days=2), visitor_id="v9", tool="campaigns", ref="7",
          source="newsletter", medium="email", campaign="spring-sale")
    touch(Kind.CAMPAIGN_LANDING, PLACED - timedelta(days=2), visitor_id="someone-else", tool="campaigns", ref="8")
    touch(Kind.ORDER_PLACED, PLACED, visitor_id="v9", order_id=guest.pk, value=guest.total_incl_tax)
    result = attribute_orders(START, END)
    assert tools(result) == {guest.number: "campaigns"}
    assert [(c.tool, c.label, c.orders, c.revenue) for c in result.campaigns] == [
        ("7", "spring-sale", 1, guest.total_incl_tax)]
    assert result.orders[0].touch.ref == "7"


def test_first_and_last_touch_differ_when_several_tools_touched_the_customer(django_user_model):
    customer = django_user_model.objects.create_user("f", "f@example.com", "pw")
    placed = order(customer)
    touch(Kind.CAMPAIGN_LANDING, PLACED - timedelta(days=20), visitor_id="phone", user=customer, tool="campaigns",
          ref="3")
    touch(Kind.MAIL_CLICKED, PLACED - timedelta(days=5), visitor_id="laptop", user=customer, tool="winback")
    RelatedClick.objects.create(kind=ListKind.BOUGHT_TOGETHER, product_id=1, position=1, user_id=customer.pk)
    RelatedClick.objects.update(created_at=PLACED - timedelta(hours=1))
    assert tools(attribute_orders(START, END, "first_touch")) == {placed.number: "campaigns"}
    assert tools(attribute_orders(START, END, "last_touch")) == {placed.number: "related"}
    assert attribute_orders(START, END, "last_touch").orders[0].touches == 3


def test_a_voucher_redeemed_on_the_order_wins_the_last_touch(django_user_model):
    customer = django_user_model.objects.create_user("v", "v@example.com", "pw")
    placed = order(customer)
    touch(Kind.RELATED_CLICK, PLACED - timedelta(minutes=30), visitor_id="v", user=customer, tool="related")
    touch(Kind.VOUCHER_REDEEMED, PLACED, visitor_id="v", user=customer, tool="birthday", order_id=placed.pk,
          value=Decimal("5.00"))
    # A voucher redeemed on another order is no touch for this one.
    touch(Kind.VOUCHER_REDEEMED, PLACED - timedelta(days=2), user=customer, tool="winback", order_id=placed.pk + 99)
    assert tools(attribute_orders(START, END, "last_touch")) == {placed.number: "birthday"}
    assert tools(attribute_orders(START, END, "first_touch")) == {placed.number: "related"}


def test_a_journey_voucher_discount_on_the_order_counts_without_events(django_user_model):
    OrderDiscount = get_model("order", "OrderDiscount")
    Voucher = get_model("voucher", "Voucher")
    customer = django_user_model.objects.create_user("p", "p@example.com", "pw")
    placed = order(customer)
    voucher = Voucher.objects.create(name="Thanks", code="THANKS-1", start_datetime=PLACED - timedelta(days=9),
                                     end_datetime=PLACED + timedelta(days=9))
    PersonalVoucher.objects.create(key="pp:1", purpose="post_purchase", voucher=voucher, user=customer)
    OrderDiscount.objects.create(order=placed, offer_name="Thanks", voucher_id=voucher.pk, voucher_code="THANKS-1",
                                 amount=Decimal("3.00"))
    assert tools(attribute_orders(START, END)) == {placed.number: "post_purchase"}


def test_the_lookback_window_edge(django_user_model):
    customer = django_user_model.objects.create_user("w", "w@example.com", "pw")
    placed = order(customer)
    touch(Kind.MAIL_CLICKED, PLACED - timedelta(days=30, minutes=1), user=customer, tool="birthday")
    assert tools(attribute_orders(START, END)) == {placed.number: NONE}
    touch(Kind.MAIL_CLICKED, PLACED - timedelta(days=30), user=customer, tool="recovery")
    assert tools(attribute_orders(START, END)) == {placed.number: "recovery"}
    with override_settings(JOURNEY={"ATTRIBUTION_LOOKBACK_DAYS": 7}):
        assert tools(attribute_orders(START, END)) == {placed.number: NONE}
    assert tools(attribute_orders(START, END, lookback_days=31)) == {placed.number: "recovery"}
    # A touch after the order does not count.
    touch(Kind.RELATED_CLICK, PLACED + timedelta(minutes=5), user=customer, tool="related")
    assert tools(attribute_orders(START, END, "last_touch")) == {placed.number: "recovery"}


def test_a_clicked_outbox_mail_is_a_touch_by_its_tool(django_user_model):
    customer = django_user_model.objects.create_user("m", "m@example.com", "pw")
    placed = order(customer)
    Message.objects.create(tool="winback", kind="winback", subject_key="winback:1", to_email="m@example.com",
                           user=customer, due_at=PLACED - timedelta(days=3), sent_at=PLACED - timedelta(days=3),
                           clicked_at=PLACED - timedelta(days=2), state=Message.State.SENT)
    result = attribute_orders(START, END)
    assert tools(result) == {placed.number: "winback"}
    assert result.tool("winback").label == "Win-back vouchers"


def test_orders_outside_the_period_are_not_attributed(db):
    order(when=PLACED - timedelta(days=3))
    assert attribute_orders(START, END).total_orders == 0


def test_filter_by_product_counts_the_products_lines(django_user_model):
    honey = create_product(title="Honey", price=Decimal("8.00"), num_in_stock=10)
    with_honey = order(product=honey)
    order(price="3.00")
    result = attribute_orders(START, END, product=honey)
    assert [o.number for o in result.orders] == [with_honey.number]
    assert result.total_revenue == Decimal("8.00")


def test_unknown_model_is_a_clear_error(db):
    with pytest.raises(AttributionError, match="unknown attribution model"):
        attribute_orders(START, END, "linear")


def test_without_detail_only_touched_orders_are_listed_and_the_rest_is_counted(django_user_model):
    customer = django_user_model.objects.create_user("d", "d@example.com", "pw")
    touched = order(customer, price="30.00")
    touch(Kind.MAIL_CLICKED, PLACED - timedelta(days=1), user=customer, tool="recovery")
    others = [order(price="5.00"), order(price="7.00")]
    full = attribute_orders(START, END)
    short = attribute_orders(START, END, detail=False)
    assert [o.number for o in short.orders] == [touched.number]
    assert [(r.tool, r.orders, r.revenue) for r in short.per_tool] == [(r.tool, r.orders, r.revenue)
                                                                       for r in full.per_tool]
    assert short.tool(NONE).revenue == sum(o.total_incl_tax for o in others)
    assert (short.total_orders, short.total_revenue) == (3, full.total_revenue)


# End to end: the events the tools write on their own, Oscar's real checkout ----------------------------------------
def test_an_order_after_a_campaign_link_landing_is_attributed_to_the_campaign(client):
    from django.urls import reverse
    from django.utils import timezone

    from journey.promotions.campaigns.lifecycle import create_campaign
    from journey.test.checkout import add_to_basket, guest_checkout

    campaign = create_campaign(name="Spring", slug="spring", value=10, channel="email")
    other = create_campaign(name="Autumn", slug="autumn", value=5, channel="facebook")
    product = create_product(title="Honey", price=Decimal("20.00"), num_in_stock=10)
    start = timezone.now() - timedelta(minutes=1)
    client.post(reverse("journey:consent"), {"action": "accept"})  # a lasting visitor id
    response = client.get(f"/journey/c/spring/?utm_campaign=spring-mail&next={product.get_absolute_url()}")
    assert response.status_code == 302
    client.get(product.get_absolute_url())
    add_to_basket(client, product)
    placed = guest_checkout(client, "gina@example.com")
    from django.test import Client

    from tests.conftest import BROWSER_USER_AGENT

    Client(HTTP_USER_AGENT=BROWSER_USER_AGENT).get("/journey/c/autumn/")  # someone else's landing
    end = timezone.now() + timedelta(minutes=1)

    for model in ("last_touch", "first_touch"):
        result = attribute_orders(start, end, model)
        assert tools(result) == {placed.number: "campaigns"}
        touch = result.orders[0].touch
        assert (touch.kind, touch.ref, touch.label) == (Kind.CAMPAIGN_LANDING, str(campaign.pk), "spring-mail")
        assert [(c.tool, c.label, c.orders, c.revenue) for c in result.campaigns] == [
            (str(campaign.pk), "spring-mail", 1, placed.total_incl_tax)]
        assert str(other.pk) not in {c.tool for c in result.campaigns}
    assert result.tool("campaigns").label == "Campaign links"


def test_an_order_with_a_campaign_code_typed_without_the_link_is_attributed_to_the_campaign(client):
    from django.urls import reverse
    from django.utils import timezone

    from journey.promotions.campaigns.lifecycle import create_campaign
    from journey.test.checkout import add_to_basket, guest_checkout

    campaign = create_campaign(name="Radio", slug="radio", value=10, channel="other", code="RADIO10")
    product = create_product(title="Tea", price=Decimal("20.00"), num_in_stock=10)
    start = timezone.now() - timedelta(minutes=1)
    add_to_basket(client, product)
    client.post(reverse("journey:apply-code"), {"code": "radio10"})
    placed = guest_checkout(client, "rita@example.com")
    assert placed.discounts.get().offer_id == campaign.offer_id
    end = timezone.now() + timedelta(minutes=1)

    for model in ("last_touch", "first_touch"):
        result = attribute_orders(start, end, model)
        assert tools(result) == {placed.number: "campaigns"}
        assert [(c.tool, c.orders, c.revenue) for c in result.campaigns] == [
            (str(campaign.pk), 1, placed.total_incl_tax)]


def _voucher_from_the_program(purpose, customer, now):
    """The personal voucher ``purpose``'s own program issues ``customer`` (its job, its mail)."""
    from journey.core import outbox
    from journey.loyalty.birthdays import services as birthdays
    from journey.loyalty.birthdays.models import BirthdayProgram
    from journey.loyalty.followups import services as followups
    from journey.loyalty.followups.models import PostPurchaseProgram, WinbackProgram
    from journey.loyalty.profiles.models import CustomerProfile

    if purpose == "birthday":
        today = now.astimezone(birthdays.store_tz()).date()
        CustomerProfile.objects.create(user=customer, birth_month=today.month, birth_day=today.day)
        BirthdayProgram.objects.create(is_active=True)
        birthdays.handle_day(BirthdayProgram.load(), today, now=now)
    elif purpose == "post_purchase":
        PostPurchaseProgram.objects.create(is_active=True, delay_hours=1)
        assert followups.schedule_post_purchase(order(customer, when=now - timedelta(hours=2)))
    else:
        WinbackProgram.objects.create(is_active=True, after_days=60)
        order(customer, when=now - timedelta(days=90))
        assert followups.schedule_winback(now=now) == 1
    outbox.send_due(now=now + timedelta(days=1))  # the mail carries the voucher (issued by then)
    return PersonalVoucher.objects.get(user=customer, purpose=purpose).voucher


@pytest.mark.parametrize("purpose", ["birthday", "post_purchase", "winback"])
def test_an_order_with_a_retain_programs_voucher_is_attributed_to_that_program(
        purpose, client, django_user_model, settings, django_capture_on_commit_callbacks):
    from django.urls import reverse
    from django.utils import timezone

    from journey.test.checkout import add_to_basket, signed_in_checkout

    settings.JOURNEY = {**settings.JOURNEY, "BIRTHDAY_SEND_HOUR": 0}
    customer = django_user_model.objects.create_user("ana", "ana@example.com", "pw")
    now = timezone.now()
    code = _voucher_from_the_program(purpose, customer, now).code
    product = create_product(title="Tea", price=Decimal("30.00"), num_in_stock=10)
    client.force_login(customer)
    client.post(reverse("journey:related-click"), {"kind": 1, "product": product.pk, "position": 1})  # another touch
    add_to_basket(client, product)
    response = client.post(reverse("basket:vouchers-add"), {"code": code})
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        placed = signed_in_checkout(client)

    redeemed = JourneyEvent.objects.get(kind=Kind.VOUCHER_REDEEMED)  # written by the voucher service
    assert (redeemed.tool, redeemed.order_id, redeemed.ref) == (purpose, placed.pk, code)
    result = attribute_orders(now - timedelta(days=1), timezone.now() + timedelta(minutes=1), "last_touch")
    attributed = next(o for o in result.orders if o.order_id == placed.pk)
    assert (attributed.tool, attributed.touch.kind, attributed.touch.ref) == (purpose, "voucher", code)
    assert attributed.touches >= 2  # a related click just before the order, yet the voucher on it wins
    assert result.tool(purpose).revenue == placed.total_incl_tax
