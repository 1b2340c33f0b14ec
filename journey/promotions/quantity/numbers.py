"""What quantity promotions did: orders that got their discount, the discount, revenue, averages with vs. without."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Avg, Count, Sum
from oscar.core.loading import get_model

from ...core.reporting import money

Order = get_model("order", "Order")
OrderDiscount = get_model("order", "OrderDiscount")


@dataclass
class Numbers:
    orders: int = 0
    discount: Decimal = Decimal("0.00")
    revenue: Decimal = Decimal("0.00")
    average_with: Decimal | None = None
    average_without: Decimal | None = None
    by_offer: dict = field(default_factory=dict)  # offer id -> orders


def numbers(offer_ids, start: datetime | None = None, end: datetime | None = None) -> Numbers:
    """Orders that got a discount from ``offer_ids`` (Oscar's OrderDiscount rows), the discount given, their
    revenue, and the average order value with vs. without it, for orders placed in [start, end)."""
    result = Numbers()
    orders = Order.objects.all()
    if start:
        orders = orders.filter(date_placed__gte=start)
    if end:
        orders = orders.filter(date_placed__lt=end)
    if not offer_ids:
        return result
    discounts = OrderDiscount.objects.filter(offer_id__in=offer_ids, order__in=orders)
    result.discount = discounts.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    result.by_offer = dict(discounts.values_list("offer_id").annotate(n=Count("order_id", distinct=True)))
    with_it = orders.filter(pk__in=discounts.values("order_id"))
    agg = with_it.aggregate(n=Count("pk"), revenue=Sum("total_incl_tax"), avg=Avg("total_incl_tax"))
    result.orders, result.revenue = agg["n"], agg["revenue"] or Decimal("0.00")
    result.average_with = money(agg["avg"])
    result.average_without = money(orders.exclude(pk__in=discounts.values("order_id")).aggregate(
        avg=Avg("total_incl_tax"))["avg"])
    return result


def promotion_numbers(promotion, start=None, end=None) -> Numbers:
    return numbers(promotion.offer_ids, start, end)
