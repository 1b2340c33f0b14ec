"""Personal vouchers, code entry and single-use redemption: bound to one customer at apply time and at order
placement, idempotent issuance, one redemption under concurrency, the shopper's messages and the throttle."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_class, get_model
from oscar.test.factories import create_order, create_product

from journey import signals
from journey.core import vouchers
from journey.core.models import JourneyEvent, PersonalVoucher, VoucherRedemption
from journey.exceptions import VoucherNotRedeemable
from journey.promotions import apply
from journey.test.factories import basket_with
from tests.race import on_postgresql, run_at_once

Applicator = get_class("offer.applicator", "Applicator")
Basket = get_model("basket", "Basket")
ConditionalOffer = get_model("offer", "ConditionalOffer")
Condition = get_model("offer", "Condition")
Benefit = get_model("offer", "Benefit")
Range = get_model("offer", "Range")
Order = get_model("order", "Order")
Voucher = get_model("voucher", "Voucher")

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana(django_user_model):
    return django_user_model.objects.create_user(username="ana", email="ana@example.com", password="pw")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user(username="bob", email="bob@example.com", password="pw")


def personal(user=None, email="", key="test:1", value="10", **kwargs):
    return vouchers.issue_personal_voucher(key=key, purpose="recovery", kind="percentage", value=value,
                                           valid_days=7, user=user, email=email, **kwargs).voucher


def request_for(user=None):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().post("/")
    request.user = user or AnonymousUser()
    return request


def priced_basket(owner=None, price="20.00", quantity=1):
    return basket_with([create_product(price=Decimal(price), num_in_stock=50)], owner=owner, quantity=quantity)


def shared_code(code="SPRING10", percent="10", usage=None, days=7, exclusive=False):
    everything, _ = Range.objects.get_or_create(name="Everything", defaults={"includes_all_products": True})
    offer = ConditionalOffer.objects.create(
        name=f"Code {code}", offer_type=ConditionalOffer.VOUCHER, exclusive=exclusive,
        condition=Condition.objects.create(range=everything, type=Condition.COUNT, value=1),
        benefit=Benefit.objects.create(range=everything, type=Benefit.PERCENTAGE, value=Decimal(percent)),
    )
    now = timezone.now()
    voucher = Voucher.objects.create(name=code, code=code, usage=usage or Voucher.MULTI_USE,
                                     start_datetime=now - timedelta(days=1), end_datetime=now + timedelta(days=days))
    voucher.offers.add(offer)
    return voucher


def place(basket, user=None, **kwargs):
    """Apply offers as the checkout does, then place the order with Oscar's OrderCreator."""
    from django.contrib.auth.models import AnonymousUser

    user = user or AnonymousUser()
    basket.reset_offer_applications()
    Applicator().apply(basket, user)
    return create_order(basket=basket, user=user, **kwargs)


# Apply time -----------------------------------------------------------------------------------------------------

def test_a_personal_voucher_applies_for_its_owner_with_the_percentage_message(ana):
    code = personal(user=ana).code
    basket = priced_basket(owner=ana)
    result = apply.apply_code(basket, code.lower(), request_for(ana))
    assert result.applied and result.message == "10 % off applied"
    assert basket.total_incl_tax == Decimal("18.00")


def test_unknown_codes_and_other_peoples_codes_get_the_same_generic_message(ana, bob):
    code = personal(user=ana).code
    for basket, user, typed in ((priced_basket(owner=bob), bob, code), (priced_basket(), None, code),
                                (priced_basket(owner=bob), bob, "NO-SUCH-CODE")):
        result = apply.apply_code(basket, typed, request_for(user))
        assert (result.status, result.message) == ("invalid", "This code is not valid.")
        assert basket.total_incl_tax == Decimal("20.00") and not basket.vouchers.exists()


def test_an_email_bound_voucher_works_for_the_account_with_that_email_only(ana, bob):
    code = personal(email="ANA@example.com").code
    assert apply.apply_code(priced_basket(owner=ana), code, request_for(ana)).applied
    assert apply.apply_code(priced_basket(owner=bob), code, request_for(bob)).status == "invalid"
    assert apply.apply_code(priced_basket(), code, request_for()).status == "invalid"  # anonymous basket


def test_an_expired_code_says_so(ana):
    voucher = personal(user=ana)
    Voucher.objects.filter(pk=voucher.pk).update(end_datetime=timezone.now() - timedelta(minutes=1))
    result = apply.apply_code(priced_basket(owner=ana), voucher.code, request_for(ana))
    assert (result.status, result.message) == ("expired", "This code has expired.")


def test_an_expired_code_of_someone_else_is_just_not_valid(ana, bob):
    voucher = personal(user=ana)
    Voucher.objects.filter(pk=voucher.pk).update(end_datetime=timezone.now() - timedelta(minutes=1))
    assert apply.apply_code(priced_basket(owner=bob), voucher.code, request_for(bob)).status == "invalid"


def test_a_fixed_amount_code_reports_the_amount():
    voucher = vouchers.issue_personal_voucher(key="fixed:1", purpose="recovery", kind="fixed", value="5",
                                              valid_days=3, basket_id=None, email="x@example.com").voucher
    basket = priced_basket()
    PersonalVoucher.objects.filter(voucher=voucher).update(basket_id=basket.pk)
    result = apply.apply_code(basket, voucher.code, request_for())
    assert result.applied and result.message == "$5.00 off applied" and result.discount == Decimal("5.00")


def test_a_basket_that_does_not_qualify_is_told_and_keeps_no_code():
    voucher = vouchers.issue_personal_voucher(key="min:1", purpose="recovery", kind="percentage", value="10",
                                              valid_days=3, min_basket="50", email="x@example.com").voucher
    basket = priced_basket()
    PersonalVoucher.objects.filter(voucher=voucher).update(basket_id=basket.pk)
    result = apply.apply_code(basket, voucher.code, request_for())
    assert result.status == "not_qualifying" and "does not qualify" in result.message
    assert not basket.vouchers.exists()


def test_a_code_still_applies_when_an_exclusive_site_offer_was_applied_first():
    everything, _ = Range.objects.get_or_create(name="Everything", defaults={"includes_all_products": True})
    ConditionalOffer.objects.create(
        name="Site 5 %", offer_type=ConditionalOffer.SITE, exclusive=True,
        condition=Condition.objects.create(range=everything, type=Condition.COUNT, value=1),
        benefit=Benefit.objects.create(range=everything, type=Benefit.PERCENTAGE, value=Decimal("5")),
    )
    voucher = shared_code(percent="10")
    basket = priced_basket()
    Applicator().apply(basket, None)  # what Oscar's basket middleware did earlier in the request
    assert basket.total_incl_tax == Decimal("19.00")
    result = apply.apply_code(basket, voucher.code, request_for())
    assert result.applied and result.message == "10 % off applied"
    assert basket.total_incl_tax == Decimal("18.00")


def test_the_code_form_applies_a_code_despite_an_exclusive_site_offer(client):
    everything, _ = Range.objects.get_or_create(name="Everything", defaults={"includes_all_products": True})
    ConditionalOffer.objects.create(
        name="Site 5 %", offer_type=ConditionalOffer.SITE, exclusive=True,
        condition=Condition.objects.create(range=everything, type=Condition.COUNT, value=1),
        benefit=Benefit.objects.create(range=everything, type=Benefit.PERCENTAGE, value=Decimal("5")),
    )
    shared_code(percent="10")
    product = create_product(price=Decimal("20.00"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    response = client.post(reverse("journey:apply-code"), {"code": "spring10"}, follow=True)
    assert "10 % off applied" in response.content.decode()
    assert response.context["basket"].total_incl_tax == Decimal("18.00")


def test_the_code_form_shows_the_generic_message_for_a_wrong_code(client):
    product = create_product(price=Decimal("20.00"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    response = client.post(reverse("journey:apply-code"), {"code": "NOPE"}, follow=True)
    assert response.status_code == 200 and "This code is not valid." in response.content.decode()


def test_the_code_form_only_redirects_to_this_site(client):
    response = client.post(reverse("journey:apply-code"), {"code": "X", "next": "https://evil.example.com/"})
    assert response.status_code == 302 and response["Location"] == reverse("basket:summary")


def test_refused_codes_from_one_client_are_throttled_with_429(client, settings):
    settings.JOURNEY = {**settings.JOURNEY, "CODE_RATE_LIMIT": (3, 600)}
    voucher = shared_code()
    for attempt in range(3):
        assert client.post(reverse("journey:apply-code"), {"code": f"GUESS{attempt}"}).status_code == 302
    response = client.post(reverse("journey:apply-code"), {"code": voucher.code})
    assert response.status_code == 429 and "Too many codes tried" in response.content.decode()
    other = Client(REMOTE_ADDR="10.0.0.9")  # another client is not affected
    assert other.post(reverse("journey:apply-code"), {"code": "GUESS"}).status_code == 302


def test_the_demo_basket_form_posts_to_the_code_view(client):
    product = create_product(price=Decimal("20.00"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    html = client.get(reverse("basket:summary")).content.decode()
    assert f'action="{reverse("journey:apply-code")}"' in html


# Order placement --------------------------------------------------------------------------------------------------

def test_an_order_by_another_account_cannot_use_a_personal_voucher(ana, bob):
    voucher = personal(user=ana)
    basket = priced_basket(owner=bob)
    basket.vouchers.add(voucher)  # slipped past the apply-time check (added directly)
    with pytest.raises(VoucherNotRedeemable, match="cannot be used for this order"):
        place(basket, bob)
    assert not Order.objects.exists() and not VoucherRedemption.objects.exists()


def test_a_guest_order_cannot_use_a_voucher_bound_to_an_account(ana):
    voucher = personal(user=ana)
    basket = priced_basket()
    basket.vouchers.add(voucher)
    with pytest.raises(VoucherNotRedeemable):
        place(basket, None, guest_email="ana@example.com")
    assert not Order.objects.exists()


def test_the_owners_order_redeems_the_voucher_once_with_an_event_and_a_signal(ana, django_capture_on_commit_callbacks):
    voucher = personal(user=ana)
    received = []

    def receiver(sender, personal_voucher, order, **kwargs):
        received.append((personal_voucher.voucher_id, order.pk))

    signals.voucher_redeemed.connect(receiver)
    try:
        basket = priced_basket(owner=ana)
        assert apply.apply_code(basket, voucher.code, request_for(ana)).applied
        with django_capture_on_commit_callbacks(execute=True):
            order = place(basket, ana)
    finally:
        signals.voucher_redeemed.disconnect(receiver)
    assert order.total_incl_tax == Decimal("18.00")
    assert VoucherRedemption.objects.get().order_id == order.pk
    assert received == [(voucher.pk, order.pk)]
    event = JourneyEvent.objects.get(kind="voucher_redeemed")
    assert (event.tool, event.order_id, event.ref, event.value) == ("recovery", order.pk, voucher.code,
                                                                   Decimal("2.00"))

    again = priced_basket(owner=ana)
    again.vouchers.add(voucher)
    with pytest.raises(VoucherNotRedeemable, match="already been used"):
        place(again, ana)


def test_the_losing_checkout_shows_a_message_not_an_error_page(client):
    voucher = shared_code(code="ONCE", usage=Voucher.SINGLE_USE)
    product = create_product(price=Decimal("20.00"), num_in_stock=50)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    client.post(reverse("journey:apply-code"), {"code": "ONCE"})
    basket = Basket.objects.get(vouchers=voucher)
    # Someone else's order with the same code commits first.
    first = priced_basket()
    first.vouchers.add(voucher)
    place(first)

    Country = get_model("address", "Country")
    Country.objects.get_or_create(iso_3166_1_a2="US", defaults={"name": "United States", "is_shipping_country": True})
    client.post(reverse("checkout:index"), {"username": "guest@example.com", "options": "anonymous"})
    client.post(reverse("checkout:shipping-address"), {
        "first_name": "Ana", "last_name": "López", "line1": "1 Main St", "line4": "Springfield", "state": "IL",
        "postcode": "62701", "country": "US", "phone_number": ""})
    for step in ("checkout:shipping-method", "checkout:payment-method", "checkout:payment-details"):
        client.get(reverse(step))
    response = client.post(reverse("checkout:preview"), {"action": "place_order"})
    assert response.status_code == 200, response.status_code
    assert "The code ONCE has already been used" in response.content.decode()
    assert Order.objects.count() == 1 and Basket.objects.get(pk=basket.pk).status != Basket.SUBMITTED


# Concurrency (PostgreSQL) -----------------------------------------------------------------------------------------

@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_issuance_for_one_customer_gives_one_voucher(ana):
    results = run_at_once(6, lambda i: vouchers.issue_personal_voucher(
        key=vouchers.personal_key("birthday", ana, "2026"), purpose="birthday", kind="percentage", value="15",
        valid_days=30, user=ana), errors="return")
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.voucher_id for r in results}) == 1
    assert PersonalVoucher.objects.count() == 1 and Voucher.objects.count() == 1
    assert ConditionalOffer.objects.count() == 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["personal", "shared single-use"])
def test_concurrent_orders_with_one_single_use_voucher_redeem_it_once(ana, kind):
    voucher = personal(user=ana) if kind == "personal" else shared_code(code="ONCE", usage=Voucher.SINGLE_USE)
    baskets = []
    for _ in range(5):  # five checkouts at once (E35)
        basket = priced_basket(owner=ana)
        basket.vouchers.add(voucher)
        baskets.append(basket)

    def checkout(i):
        basket = Basket.objects.get(pk=baskets[i].pk)
        basket.strategy = baskets[i].strategy
        return place(basket, ana)

    results = run_at_once(5, checkout, errors="return")
    orders = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, VoucherNotRedeemable)]
    assert len(orders) == 1 and len(refused) == 4, results
    assert Order.objects.count() == 1 and VoucherRedemption.objects.get().order_id == orders[0].pk
    assert Order.objects.get().discounts.filter(voucher_id=voucher.pk).count() == 1
    assert voucher.applications.count() == 1
