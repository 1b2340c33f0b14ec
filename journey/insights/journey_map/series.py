"""The journey map's numbers day by day: orders, revenue and recovered revenue, and each tool's sparkline — its
``series`` hook in the registry, or its journey events per day."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from ...core.registry import registry
from ...core.reporting import charts, day_start, store_time_zone

ZERO = Decimal("0.00")
#: The tool whose series is the map's "recovered revenue" (for the scope of the map).
RECOVERED_TOOL = "recovery"


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def daily_orders(start, end, first, last, products=None) -> dict:
    """Orders, revenue and recovered revenue per store day of ``[start, end)``; for a scope, its lines only.

    Recovered revenue is the series of the recovery tool (``RECOVERED_TOOL``) for the scope: zero without it."""
    Order = get_model("order", "Order")
    Line = get_model("order", "Line")
    tz = store_time_zone()
    days = days_between(first, last)
    orders, revenue = defaultdict(int), defaultdict(lambda: ZERO)
    if products is None:
        rows = (Order.objects.filter(date_placed__gte=start, date_placed__lt=end)
                .annotate(day=TruncDate("date_placed", tzinfo=tz)).values("day")
                .annotate(n=Count("id"), revenue=Sum("total_incl_tax")).order_by())
    else:
        lines = Line.objects.filter(order__date_placed__gte=start, order__date_placed__lt=end,
                                    product_id__in=products)
        rows = (lines.annotate(day=TruncDate("order__date_placed", tzinfo=tz)).values("day")
                .annotate(n=Count("order_id", distinct=True), revenue=Sum("line_price_incl_tax")).order_by())
    for row in rows:
        orders[row["day"]] = row["n"]
        revenue[row["day"]] = row["revenue"] or ZERO
    recovered = _tool_series(RECOVERED_TOOL, start, end, products) or {}
    return {"days": days, "orders": [orders[d] for d in days], "revenue": [revenue[d] for d in days],
            "recovered": [recovered.get(d) or ZERO for d in days]}


def _tool_series(key, start, end, products=None):
    from ...exceptions import UnknownTool

    try:
        tool = registry.get(key)
    except UnknownTool:
        return None
    return tool.get_series(start, end, products=products)


def event_series(tool_keys, start, end) -> dict:
    """Journey events per tool and day, {tool: {day: n}}: the rollup's ToolDay rows for final days, the events
    for the rest (two queries for all the tools)."""
    from ...core.models import JourneyEvent
    from ..funnel import _ranges, as_days
    from ..models import RollupDay, ToolDay

    first, last = as_days(start, end)
    final = RollupDay.objects.filter(day__gte=first, day__lte=last, final=True).values("day")
    values = defaultdict(lambda: defaultdict(int))
    for tool, day, n in (ToolDay.objects.filter(tool__in=tool_keys, day__gte=first, day__lte=last, day__in=final)
                         .values("tool", "day").annotate(n=Sum("events")).values_list("tool", "day", "n")):
        values[tool][day] += n
    final_days = set(final.values_list("day", flat=True))
    # Only the days not rolled up (usually just today) are read from the events.
    for run_first, run_last in _ranges([d for d in days_between(first, last) if d not in final_days]):
        live = (JourneyEvent.objects.filter(tool__in=tool_keys, created_at__gte=max(start, day_start(run_first)),
                                            created_at__lt=min(end, day_start(run_last + timedelta(days=1))))
                .annotate(day=TruncDate("created_at", tzinfo=store_time_zone())).values("tool", "day")
                .annotate(n=Count("pk")).order_by().values_list("tool", "day", "n"))
        for tool, day, n in live:
            values[tool][day] += n
    return values


def tool_sparklines(tools, start, end, days) -> dict:
    """{tool key: Sparkline} for the enabled ``tools``: their ``series`` hook, or their journey events per day."""
    tools = [tool for tool in tools if tool.enabled]
    events = event_series([t.key for t in tools if not t.series], start, end)
    sparks = {}
    for tool in tools:
        if tool.series:
            values = tool.get_series(start, end)
            if values is None:  # the series failed (logged): no sparkline rather than a broken map
                continue
            title = tool.series_title or _("Journey events per day")
        else:
            values, title = events.get(tool.key, {}), _("Journey events per day")
        sparks[tool.key] = charts.sparkline(bucketed([values.get(d, 0) for d in days], days), title=str(title))
    return sparks


def bucketed(values, days, max_points=60):
    """Sum ``values`` by week or month when there are more than ``max_points`` days (a sparkline stays readable)."""
    unit = charts.bucket_unit(len(days), max_points)
    if unit == "day":
        return values
    sums: dict[date, object] = {}
    for day, value in zip(days, values, strict=True):
        key = charts.bucket_key(day, unit)
        sums[key] = sums.get(key, 0) + (value or 0)
    return list(sums.values())
