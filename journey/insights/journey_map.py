"""The journey map: the four phases, each with its tools, their health and their numbers for a period, the funnel,
orders and revenue over time, what brought the orders (attribution) and the qualitative lanes of a classic journey
map (persona, what the customer does and thinks, what the shop does, touchpoints, brakes, insights) — for the whole
shop, one category or one product.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from ..conf import journey_settings
from ..core.jobs import stale_jobs
from ..core.registry import Health, Metric, Status, Tool, registry
from ..core.reporting import CUSTOM, DEFAULT_PERIOD, PERIODS, charts, currency, period_bounds  # noqa: F401
from ..phases import Phase

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
# The funnel step each phase column charts day by day.
PHASE_STEP = {Phase.ATTRACT: "attract", Phase.CONVINCE: "view", Phase.SELL: "order", Phase.RETAIN: "repeat"}


@dataclass
class ToolCard:
    tool: Tool
    health: Health
    metrics: list[Metric]
    admin_url: str | None
    sparkline: charts.Sparkline | None = None
    attributed: object = None  # attribution.ToolRevenue of the chosen model, if the tool brought orders


@dataclass
class PhaseColumn:
    phase: Phase
    cards: list[ToolCard] = field(default_factory=list)
    step: object = None  # funnel.StepCount charted for this phase
    sparkline: charts.Sparkline | None = None

    @property
    def status(self) -> Status:
        statuses = [card.health.status for card in self.cards] or [Status.IDLE]
        return max(statuses, key=lambda s: Status(s).severity)


@dataclass
class LaneCell:
    phase: Phase
    notes: list = field(default_factory=list)
    candidates: list = field(default_factory=list)  # automatically flagged brakes (funnel drop-offs)
    add_url: str = ""


@dataclass
class LaneRow:
    lane: object
    cells: list[LaneCell]


@dataclass
class Candidate:
    """A funnel step whose drop-off is above FUNNEL_BRAKE_DROP_OFF: a brake worth writing down."""

    step: object
    text: str
    keep_url: str = ""


@dataclass
class JourneyMap:
    start: datetime
    end: datetime
    period: str
    columns: list[PhaseColumn]
    scheduler: Health
    headline: list[Metric]
    first_day: date | None = None
    last_day: date | None = None
    category: object = None
    product: object = None
    funnel: object = None
    funnel_chart: charts.FunnelChart | None = None
    funnel_note: str = ""
    breakdown_by: str | None = None
    attribution: object = None
    series: dict = field(default_factory=dict)  # {"days": [...], "orders": [...], "revenue": [...], "recovered": [...]}
    series_chart: charts.TimeChart | None = None
    lanes: list[LaneRow] = field(default_factory=list)
    personas: list = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def breakdown_label(self):
        from .funnel import BREAKDOWNS

        return BREAKDOWNS.get(self.breakdown_by, "")

    @property
    def scope_label(self):
        if self.product is not None:
            return gettext("Product: %(name)s") % {"name": self.product.get_title()}
        if self.category is not None:
            return gettext("Category: %(name)s") % {"name": self.category.full_name}
        return gettext("Whole shop")



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



# Day-by-day numbers -----------------------------------------------------------------------------------------------
def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def daily_orders(start, end, first, last, products=None) -> dict:
    """Orders, revenue and recovered revenue per store day of ``[start, end)``; for a scope, its lines only."""
    from ..core.reporting import store_time_zone as store_tz
    from ..recovery.models import BasketActivity

    Order = get_model("order", "Order")
    Line = get_model("order", "Line")
    tz = store_tz()
    days = _days(first, last)
    orders, revenue, recovered = defaultdict(int), defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    recovered_activity = BasketActivity.objects.filter(state=BasketActivity.State.RECOVERED, ordered_at__gte=start,
                                                       ordered_at__lt=end)
    if products is None:
        rows = (Order.objects.filter(date_placed__gte=start, date_placed__lt=end)
                .annotate(day=TruncDate("date_placed", tzinfo=tz)).values("day")
                .annotate(n=Count("id"), revenue=Sum("total_incl_tax")).order_by())
        for row in recovered_activity.annotate(day=TruncDate("ordered_at", tzinfo=tz)).values("day").annotate(
                revenue=Sum("recovered_revenue")).order_by():
            recovered[row["day"]] = row["revenue"] or ZERO
    else:
        lines = Line.objects.filter(order__date_placed__gte=start, order__date_placed__lt=end,
                                    product_id__in=products)
        rows = (lines.annotate(day=TruncDate("order__date_placed", tzinfo=tz)).values("day")
                .annotate(n=Count("order_id", distinct=True), revenue=Sum("line_price_incl_tax")).order_by())
        for row in (lines.filter(order__number__in=recovered_activity.values("order_number"))
                    .annotate(day=TruncDate("order__date_placed", tzinfo=tz)).values("day")
                    .annotate(revenue=Sum("line_price_incl_tax")).order_by()):
            recovered[row["day"]] = row["revenue"] or ZERO
    for row in rows:
        orders[row["day"]] = row["n"]
        revenue[row["day"]] = row["revenue"] or ZERO
    return {"days": days, "orders": [orders[d] for d in days], "revenue": [revenue[d] for d in days],
            "recovered": [recovered[d] for d in days]}


# Sparklines of the tools: one cheap daily query each --------------------------------------------------------------
def _per_day(queryset, field_name, value=None):
    from ..core.reporting import store_time_zone as store_tz

    qs = queryset.annotate(day=TruncDate(field_name, tzinfo=store_tz())).values("day")
    qs = qs.annotate(v=value or Count("pk")).order_by()
    return {row["day"]: row["v"] or 0 for row in qs}


def _recovery_series(start, end):
    from ..recovery.models import BasketActivity

    return _per_day(BasketActivity.objects.filter(state=BasketActivity.State.RECOVERED, ordered_at__gte=start,
                                                  ordered_at__lt=end), "ordered_at", Sum("recovered_revenue"))


def _related_series(start, end):
    from ..related.models import RelatedClick

    return _per_day(RelatedClick.objects.filter(created_at__gte=start, created_at__lt=end), "created_at")


def _discount_series(with_voucher):
    def series(start, end):
        OrderDiscount = get_model("order", "OrderDiscount")
        qs = OrderDiscount.objects.filter(order__date_placed__gte=start, order__date_placed__lt=end,
                                          voucher_id__isnull=not with_voucher)
        return _per_day(qs, "order__date_placed", Count("order_id", distinct=True))
    return series


def _search_series(start, end):
    UserSearch = get_model("analytics", "UserSearch")
    return _per_day(UserSearch.objects.filter(date_created__gte=start, date_created__lt=end), "date_created")


def event_series(tool_keys, start, end) -> dict:
    """Journey events per tool and day, {tool: {day: n}}: the rollup's ToolDay rows for final days, the events
    for the rest (two queries for all the tools)."""
    from ..core.models import JourneyEvent
    from ..core.reporting import store_time_zone as store_tz
    from .funnel import _ranges, as_days, day_start
    from .models import RollupDay, ToolDay

    first, last = as_days(start, end)
    final = RollupDay.objects.filter(day__gte=first, day__lte=last, final=True).values("day")
    values = defaultdict(lambda: defaultdict(int))
    for tool, day, n in (ToolDay.objects.filter(tool__in=tool_keys, day__gte=first, day__lte=last, day__in=final)
                         .values("tool", "day").annotate(n=Sum("events")).values_list("tool", "day", "n")):
        values[tool][day] += n
    final_days = set(final.values_list("day", flat=True))
    # Only the days not rolled up (usually just today) are read from the events.
    for run_first, run_last in _ranges([d for d in _days(first, last) if d not in final_days]):
        live = (JourneyEvent.objects.filter(tool__in=tool_keys, created_at__gte=max(start, day_start(run_first)),
                                            created_at__lt=min(end, day_start(run_last + timedelta(days=1))))
                .annotate(day=TruncDate("created_at", tzinfo=store_tz())).values("tool", "day")
                .annotate(n=Count("pk")).order_by().values_list("tool", "day", "n"))
        for tool, day, n in live:
            values[tool][day] += n
    return values


#: Per tool key: (start, end) -> {store day: value}.  Tools not listed chart their journey events per day.
#: A host shop may add its own: ``SPARKLINES["my_tool"] = func``.
SPARKLINES = {
    "recovery": _recovery_series,
    "related": _related_series,
    "oscar_offers": _discount_series(False),
    "oscar_vouchers": _discount_series(True),
    "oscar_search": _search_series,
}
SPARKLINE_TITLES = {
    "recovery": _("Recovered revenue per day"),
    "related": _("Clicks per day"),
    "oscar_offers": _("Orders with an offer per day"),
    "oscar_vouchers": _("Orders with a code per day"),
    "oscar_search": _("Searches per day"),
}


def tool_sparklines(tools, start, end, days) -> dict:
    """{tool key: Sparkline} for the enabled ``tools``: their own series, or their journey events per day."""
    tools = [tool for tool in tools if tool.enabled]
    events = event_series([t.key for t in tools if t.key not in SPARKLINES], start, end)
    sparks = {}
    for tool in tools:
        func = SPARKLINES.get(tool.key)
        try:
            values = func(start, end) if func else events.get(tool.key, {})
        except Exception:  # a broken series must not break the map
            logger.exception("Sparkline of journey tool %s failed", tool.key)
            continue
        title = SPARKLINE_TITLES.get(tool.key, _("Journey events per day"))
        sparks[tool.key] = charts.sparkline(_bucketed([values.get(d, 0) for d in days], days), title=str(title))
    return sparks


def _bucketed(values, days, max_points=60):
    """Sum ``values`` by week or month when there are more than ``max_points`` days (a sparkline stays readable)."""
    unit = charts.bucket_unit(len(days), max_points)
    if unit == "day":
        return values
    sums: dict[date, object] = {}
    for day, value in zip(days, values, strict=True):
        key = charts.bucket_key(day, unit)
        sums[key] = sums.get(key, 0) + (value or 0)
    return list(sums.values())


# Lanes ------------------------------------------------------------------------------------------------------------
def _scope_filter(category, product):
    return {"category": category, "product": product}


def add_note_url(phase, lane, category=None, product=None, text=""):
    params = {"phase": phase, "lane": lane}
    if category is not None:
        params["category"] = category.pk
    if product is not None:
        params["product"] = product.pk
    if text:
        params["text"] = text
    try:
        return reverse("admin:journey_lanenote_add") + "?" + urlencode(params)
    except NoReverseMatch:
        return ""


def candidate_brakes(result, category=None, product=None) -> list[Candidate]:
    from .models import Lane

    if result is None:
        return []
    threshold = Decimal(str(journey_settings.FUNNEL_BRAKE_DROP_OFF))
    candidates = []
    steps = result.steps
    for i, step in enumerate(steps):
        if step.drop_off is None or step.drop_off < threshold:
            continue
        previous = steps[i - 1]
        text = gettext(
            "%(drop).1f %% of the visits that reached “%(previous)s” did not go on to “%(step)s” "
            "(%(before)d → %(after)d)."
        ) % {"drop": step.drop_off, "previous": previous.step.label, "step": step.step.label,
             "before": previous.visits, "after": step.visits}
        candidates.append(Candidate(step, text, add_note_url(step.step.phase, Lane.BRAKES, category, product, text)))
    return candidates


def build_lanes(category, product, candidates) -> tuple[list[LaneRow], list]:
    from .models import Lane, LaneNote, Persona

    scope = _scope_filter(category, product)
    notes = defaultdict(list)
    for note in LaneNote.objects.filter(**scope).order_by("position", "id"):
        notes[(note.lane, note.phase)].append(note)
    by_phase = defaultdict(list)
    for candidate in candidates:
        by_phase[candidate.step.step.phase].append(candidate)
    rows = []
    for lane in Lane:
        cells = [LaneCell(phase, notes.get((lane.value, phase.value), []),
                          by_phase.get(phase, []) if lane == Lane.BRAKES else [],
                          add_note_url(phase.value, lane.value, category, product))
                 for phase in Phase]
        rows.append(LaneRow(lane, cells))
    return rows, list(Persona.objects.filter(**scope).order_by("position", "name"))


# The map ----------------------------------------------------------------------------------------------------------
def build_journey_map(period: str = DEFAULT_PERIOD, now=None, *, start=None, end=None, category=None, product=None,
                      model=None, by=None, mode="closed") -> JourneyMap:
    """Everything the journey map page shows, for a preset ``period`` or the store days ``start``..``end``."""
    from ..exceptions import FunnelError
    from .attribution import attribute_orders, scoped_product_ids
    from .funnel import as_days, day_start, funnel

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
    days = _days(first, last)
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
                _bucketed([n for _day, n in journey_map.funnel.daily[step_key]], days),
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


# CSV export -------------------------------------------------------------------------------------------------------
def csv_rows(journey_map: JourneyMap, currency_code=""):
    """The numbers of the map as CSV rows: section, phase, item, measure, value."""
    scope = journey_map.scope_label
    yield [gettext("Journey map"), scope, journey_map.first_day.isoformat(), journey_map.last_day.isoformat(),
           currency_code]
    yield [gettext("section"), gettext("phase"), gettext("item"), gettext("measure"), gettext("value")]
    for metric in journey_map.headline:
        yield [gettext("Headline"), "", "", str(metric.label), _csv_value(metric.value)]
    if journey_map.funnel is not None:
        for step in journey_map.funnel.steps:
            yield [gettext("Funnel"), str(step.step.phase.label), str(step.step.label), gettext("visits"),
                   step.visits]
            yield [gettext("Funnel"), str(step.step.phase.label), str(step.step.label),
                   gettext("conversion from the previous step (%)"), _csv_value(step.conversion)]
        for row in journey_map.funnel.breakdown:
            for step in row.steps:
                yield [gettext("Funnel by %(dimension)s") % {"dimension": journey_map.funnel.by}, "",
                       row.label, str(step.step.label), step.visits]
    for column in journey_map.columns:
        for card in column.cards:
            for metric in card.metrics:
                yield [gettext("Tools"), str(column.phase.label), str(card.tool.name), str(metric.label),
                       _csv_value(metric.value)]
    attribution = journey_map.attribution
    from .attribution import MODELS

    model = str(MODELS[attribution.model])
    for row in attribution.per_tool:
        yield [gettext("Attribution (%(model)s)") % {"model": model}, "", row.label, gettext("orders"), row.orders]
        yield [gettext("Attribution (%(model)s)") % {"model": model}, "", row.label, gettext("revenue"),
               _csv_value(row.revenue)]
    for row in attribution.campaigns:
        yield [gettext("Attribution by campaign"), "", row.label, gettext("revenue"), _csv_value(row.revenue)]
    series = journey_map.series
    for i, day in enumerate(series.get("days", [])):
        yield [gettext("Day by day"), "", day.isoformat(), gettext("orders"), series["orders"][i]]
        yield [gettext("Day by day"), "", day.isoformat(), gettext("revenue"), _csv_value(series["revenue"][i])]
        yield [gettext("Day by day"), "", day.isoformat(), gettext("recovered revenue"),
               _csv_value(series["recovered"][i])]
    for candidate in journey_map.candidates:
        yield [gettext("Candidate brakes"), str(candidate.step.step.phase.label), str(candidate.step.step.label),
               gettext("drop-off (%)"), _csv_value(candidate.step.drop_off)]


def _csv_value(value):
    """Numbers stay numbers (Decimal included): journey.core.csv_export writes them and escapes only text."""
    return "" if value is None else value
