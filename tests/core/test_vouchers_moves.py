"""E39: journey vouchers stacked in one basket, moved by Oscar's basket merge at login, and checked again when the
order is placed.  E35 (five checkouts, one single-use code) lives in test_vouchers.py."""

from decimal import Decimal

import pytest
from django.core.signing import Signer
from django.urls import reverse

from journey.core import vouchers
from journey.core.models import VoucherRedemption
from journey.exceptions import VoucherNotRedeemable
from journey.promotions import apply

from .test_vouchers import Basket, Order, ana, bob, personal, place, priced_basket, request_for, shared_code  # noqa: F401

pytestmark = pytest.mark.django_db


def test_two_journey_vouchers_stack_in_one_basket_and_both_are_redeemed_once(ana):  # noqa: F811
    first = personal(user=ana, key="recovery:1", value="10")
    second = personal(user=ana, key="birthday:1", value="5")
    basket = priced_basket(owner=ana, price="100.00")
    assert apply.apply_code(basket, first.code, request_for(ana)).applied
    assert apply.apply_code(basket, second.code, request_for(ana)).applied
    assert {v.pk for v in basket.vouchers.all()} == {first.pk, second.pk}
    order = place(basket, ana)
    assert order.total_incl_tax < Decimal("100.00") - Decimal("10.00")
    assert set(VoucherRedemption.objects.values_list("voucher_id", flat=True)) == {first.pk, second.pk}
    assert set(order.discounts.values_list("voucher_id", flat=True)) == {first.pk, second.pk}


def signed_in_with_anas_guest_voucher(client, user):
    """A guest basket holding a recovery voucher for ana@example.com, then ``user`` signs in on that browser:
    Oscar merges the cookie basket into the account's.  Returns (the voucher, the merged basket as the page showed
    it, the merged basket ready to order)."""
    guest_basket = priced_basket()
    voucher = vouchers.issue_personal_voucher(key="recovery:guest", purpose="recovery", kind="percentage",
                                              value="10", valid_days=7, email="ana@example.com",
                                              basket_id=guest_basket.pk).voucher
    guest_basket.vouchers.add(voucher)
    client.cookies["oscar_open_basket"] = Signer().sign(guest_basket.pk)
    client.force_login(user)
    merged = client.get(reverse("basket:summary")).context["basket"]
    basket = Basket.objects.get(pk=merged.pk)
    basket.strategy = guest_basket.strategy
    return voucher, merged, basket


def test_a_guest_voucher_moves_with_the_basket_at_login_and_is_refused_for_another_customer(client, bob):  # noqa: F811
    voucher, merged, basket = signed_in_with_anas_guest_voucher(client, bob)
    assert merged.owner_id == bob.pk and merged.contains_voucher(voucher.code)
    assert list(merged.grouped_voucher_discounts) == []  # the condition: bob's basket is not the voucher's customer
    with pytest.raises(VoucherNotRedeemable):
        place(basket, bob)
    assert not Order.objects.exists() and not VoucherRedemption.objects.exists()


def test_a_guest_voucher_moved_into_its_own_customers_account_basket_is_redeemed(client, ana):  # noqa: F811
    _voucher, merged, basket = signed_in_with_anas_guest_voucher(client, ana)
    assert merged.owner_id == ana.pk and merged.total_incl_tax == Decimal("18.00")  # 10 % off the $20.00 line
    order = place(basket, ana)
    assert VoucherRedemption.objects.get().order_id == order.pk
