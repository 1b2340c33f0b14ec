"""The sums a period's report needs, per group and variant, in one aggregate query (plus erased people's sums)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum

from .models import Assignment, ErasedTally

ZERO = Decimal("0")


@dataclass
class GroupTotals:
    people: int = 0
    converted: int = 0
    orders: int = 0
    revenue: Decimal = ZERO
    revenue_sq: Decimal = ZERO
    discount: Decimal = ZERO

    def add(self, people, converted, orders, revenue, revenue_sq, discount):
        self.people += people or 0
        self.converted += converted or 0
        self.orders += orders or 0
        self.revenue += Decimal(revenue or 0)
        self.revenue_sq += Decimal(revenue_sq or 0)
        self.discount += Decimal(discount or 0)


def period_totals(experiment_ids, *, decided_from=None, decided_to=None) -> dict[tuple[int, str, str], GroupTotals]:
    """{(experiment id, group, variant): GroupTotals} for the given periods; with ``decided_from`` / ``decided_to``
    only the people decided in that span (erased people's sums count only for whole periods)."""
    experiment_ids = list(experiment_ids)
    people = Assignment.objects.filter(experiment_id__in=experiment_ids)
    if decided_from is not None:
        people = people.filter(decided_at__gte=decided_from)
    if decided_to is not None:
        people = people.filter(decided_at__lt=decided_to)
    out: dict[tuple[int, str, str], GroupTotals] = {}
    square = ExpressionWrapper(F("revenue") * F("revenue"), output_field=DecimalField(max_digits=24, decimal_places=4))
    rows = (people.values("experiment_id", "group", "variant")
            .annotate(people=Count("id"), converted=Count("id", filter=Q(orders__gt=0)), orders_=Sum("orders"),
                      revenue_=Sum("revenue"), revenue_sq=Sum(square), discount_=Sum("discount"))
            .order_by())
    for r in rows:
        out.setdefault((r["experiment_id"], r["group"], r["variant"]), GroupTotals()).add(
            r["people"], r["converted"], r["orders_"], r["revenue_"], r["revenue_sq"], r["discount_"])
    whole = decided_from is None and decided_to is None
    for t in ErasedTally.objects.filter(experiment_id__in=experiment_ids) if whole else ():
        out.setdefault((t.experiment_id, t.group, t.variant), GroupTotals()).add(
            t.people, t.converted, t.orders, t.revenue, t.revenue_sq, t.discount)
    return out
