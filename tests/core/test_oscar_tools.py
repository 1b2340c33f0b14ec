from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import create_order

from journey.core import oscar_tools

OrderDiscount = get_model("order", "OrderDiscount")


@pytest.mark.django_db
def test_oscar_offer_and_voucher_numbers_split_the_orders_discounts_by_code():
    with_offer, with_code, with_both = create_order(), create_order(), create_order()
    OrderDiscount.objects.create(order=with_offer, offer_id=1, amount=Decimal("2.00"))
    OrderDiscount.objects.create(order=with_code, offer_id=2, voucher_id=7, voucher_code="HI", amount=Decimal("3.00"))
    OrderDiscount.objects.create(order=with_both, offer_id=1, amount=Decimal("1.00"))
    OrderDiscount.objects.create(order=with_both, offer_id=2, voucher_id=8, voucher_code="HO", amount=Decimal("4.50"))
    now = timezone.now()
    start, end = now - timedelta(days=1), now + timedelta(days=1)

    offers = oscar_tools.offers_metrics(start, end)
    codes = oscar_tools.vouchers_metrics(start, end)

    assert [(str(m.label), m.value, m.kind) for m in offers] == [
        ("Orders with an offer", 2, "count"), ("Discount given", Decimal("3.00"), "money")]
    assert [(str(m.label), m.value, m.kind) for m in codes] == [
        ("Orders with a code", 2, "count"), ("Discount given", Decimal("7.50"), "money")]
    assert [m.value for m in oscar_tools.vouchers_metrics(end, end + timedelta(days=1))] == [0, 0]
