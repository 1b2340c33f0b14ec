"""Building the journey map for a period and a scope: the funnel, orders over time, attribution, and the four phase
columns with the registry's tools, their health, numbers and sparklines."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from ...core.jobs import stale_jobs
from ...core.registry import Health, Metric, registry
from ...core.reporting import CUSTOM, DEFAULT_PERIOD, charts, currency, period_bounds
from ...phases import Phase
from .lanes import build_lanes, candidate_brakes
from .series import bucketed, daily_orders, days_between, tool_sparklines
from .view import JourneyMap, PhaseColumn, ToolCard

ZERO = Decimal("0.00")
# The funnel step each phase column charts day by day.
PHASE_STEP = {Phase.ATTRACT: "attract", Phase.CONVINCE: "view", Phase.SELL: "order", Phase.RETAIN: "repeat"}


def scheduler_health() -> Health:
    if stale_jobs(["heartbeat"]):
        return Health.warning(
            _("The scheduler has not run recently: start a Celery worker with beat, "
              "or run 'manage.py journey_tick' from cron every minute.")
        )
    return Health.ok(_("The scheduler is running."))


def headline_metrics(start, end) -> list[Metric]:
    Order = get_model("order", "Order")
    agg = Order.objects.filter(date_placed__gte=start, date_placed__lt=end).aggregate(
        orders=Count("id"), revenue=Sum("total_incl_tax")
    )
    return [
        Metric(_("Orders"), agg["orders"]),
        Metric(_("Revenue"), agg["revenue"] or 0, "money"),
    ]


def _admin_url(tool):
    if not tool.admin_url_name:
        return None
    try:
        return reverse(tool.admin_url_name)
    except NoReverseMatch:
        return None


def build_journey_map(period: str = DEFAULT_PERIOD, now=None, *, start=None, end=None, category=None, product=None,
                      model=None, by=None, mode="closed") -> JourneyMap:
    """Everything the journey map page shows, for a preset ``period`` or the store days ``start``..``end``."""
    from ...exceptions import FunnelError
    from .. import incrementality
    from ..attribution import attribute_orders, scoped_product_ids
    from ..funnel import as_days, day_start, funnel

    if start is not None and end is not None:
        period = CUSTOM
        first, last = start, end
        start, end = day_start(first), day_start(last + timedelta(days=1))
    else:
        period, start, end = period_bounds(period, now)
        first, last = as_days(start, end)
    if period == "all":  # from the first order (or today), not from the year 2000
        Order = get_model("order", "Order")
        oldest = Order.objects.order_by("date_placed").values_list("date_placed", flat=True).first()
        if oldest:
            first = max(first, as_days(oldest, oldest + timedelta(seconds=1))[0])
    days = days_between(first, last)
    scoped = category is not None or product is not None
    products = scoped_product_ids(category, product) if scoped else None

    journey_map = JourneyMap(start=start, end=end, period=period, columns=[], scheduler=scheduler_health(),
                             headline=[], first_day=first, last_day=last, category=category, product=product,
                             breakdown_by=by)
    # Funnel, with a breakdown when asked.
    try:
        journey_map.funnel = funnel(first, last, category=category, product=product, mode=mode, by=by)
    except FunnelError as exc:
        journey_map.funnel_note = str(exc)
        journey_map.funnel = funnel(first, last, category=category, product=product, mode=mode)
    journey_map.candidates = candidate_brakes(journey_map.funnel, category, product)
    if journey_map.funnel is not None:
        journey_map.funnel_chart = charts.funnel_chart(journey_map.funnel.steps,
                                                       [c.step for c in journey_map.candidates])

    # Orders over time and attribution.
    money = currency()
    journey_map.series = daily_orders(start, end, first, last, products)
    # The chart's x-axis spans the days with data (2017 orders under "all time" fill the chart), the numbers the
    # whole period.
    series = journey_map.series
    with_data = [i for i in range(len(days)) if series["orders"][i] or series["revenue"][i] or series["recovered"][i]]
    shown = slice(with_data[0], with_data[-1] + 1) if with_data else slice(None)
    journey_map.series_chart = charts.time_chart(
        days[shown],
        bars=[charts.Series("orders", gettext("Orders"), series["orders"][shown])],
        lines=[charts.Series("revenue", gettext("Revenue"), series["revenue"][shown], money=True),
               charts.Series("recovered", gettext("Recovered revenue"), series["recovered"][shown], money=True)],
        currency=money,
    )
    journey_map.attribution = attribute_orders(start, end, model, category=category, product=product,
                                               detail=False)
    attributed = {row.tool: row for row in journey_map.attribution.per_tool}
    journey_map.incrementality = incrementality.map_rows(start, end, journey_map.attribution)
    journey_map.incrementality_chart = incrementality.map_chart(journey_map.incrementality)
    journey_map.headline = [
        Metric(_("Orders"), sum(journey_map.series["orders"])),
        Metric(_("Revenue"), sum(journey_map.series["revenue"], ZERO), "money"),
        Metric(_("Recovered revenue"), sum(journey_map.series["recovered"], ZERO), "money"),
        Metric(_("Revenue brought by journey tools"), journey_map.attribution.attributed_revenue, "money"),
    ]
    if journey_map.funnel is not None:
        journey_map.headline.insert(0, Metric(_("Visits"), journey_map.funnel.visits))

    # The four phase columns with their tools.
    cards = {}
    sparks = tool_sparklines(registry.all(), start, end, days)
    for phase, tools in registry.by_phase().items():
        column = PhaseColumn(phase)
        if journey_map.funnel is not None:
            step_key = PHASE_STEP[phase]
            column.step = journey_map.funnel.step(step_key)
            column.sparkline = charts.sparkline(
                bucketed([n for _day, n in journey_map.funnel.daily[step_key]], days),
                title=str(column.step.step.label))
        for tool in tools:
            if tool.key not in cards:  # a tool in two phases is measured once
                cards[tool.key] = ToolCard(tool, tool.check_health(), tool.get_metrics(start, end), _admin_url(tool),
                                           sparks.get(tool.key),
                                           attributed.get(tool.key))
            column.cards.append(cards[tool.key])
        journey_map.columns.append(column)

    journey_map.lanes, journey_map.personas = build_lanes(category, product, journey_map.candidates)
    return journey_map
