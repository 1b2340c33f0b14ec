"""The journey funnel: visits through Attract → Convince → Sell → Retain, with conversion and breakdowns.

Public API::

    from journey.insights.funnel import funnel
    result = funnel(date(2025, 3, 1), date(2025, 3, 31))                      # the whole shop
    result = funnel(start, end, category=category)                            # one category (and its subcategories)
    result = funnel(start, end, product=product, mode="open")
    result = funnel(start, end, by="source")                                  # rows per source (medium, campaign,
                                                                             # device, category)
    result.steps        # [StepCount(step, visits, open_visits, conversion, drop_off)]
    result.breakdown    # [BreakdownRow(value, label, steps)] when ``by`` is given

**The unit is a visit**: one visitor (the first-party visitor id, else the signed-in user) on one store day.
Its steps, from the first-party events (:mod:`journey.core.events`):

* **Attract** — the visit began with a landing (campaign link, ad, search) or the visitor landed within
  ``FUNNEL_LANDING_CARRY_DAYS`` before (the visit keeps that landing's source/medium/campaign, as analytics
  tools do for a returning visitor);
* **Convince** — viewed a product;
* **Sell** — added to basket → started checkout → ordered;
* **Retain** — ordered again: the visit's order is the customer's second or later (Oscar's orders, by user or
  guest email).

``mode="closed"`` (default) counts at each step the visits that also reached every step before it (a true funnel);
``mode="open"`` counts the visits that reached the step at all.  For a category or a product the product steps
(viewed, added, ordered) must involve that product (or a product of the category or of its subcategories).

Speed: days that have ended are read from :class:`~journey.insights.models.FunnelDay` (filled by the
``insights_rollup`` job, a few hundred rows a day); the days not rolled up yet (today) are computed live from the
events with the same SQL.  Without the job the numbers are the same, only slower.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from oscar.core.loading import get_model

from ..conf import journey_settings
from ..core.events import Kind
from ..core.reporting import day_start, percentage, store_time_zone  # noqa: F401 - part of this module's API
from ..exceptions import FunnelError
from ..phases import Phase
from .models import FunnelDay, FunnelScope, RollupDay


@dataclass(frozen=True)
class Step:
    key: str
    phase: Phase
    label: object
    bit: int


STEPS = (
    Step("attract", Phase.ATTRACT, _("Landed from a campaign or search"), 1),
    Step("view", Phase.CONVINCE, _("Viewed a product"), 2),
    Step("basket", Phase.SELL, _("Added to basket"), 4),
    Step("checkout", Phase.SELL, _("Started checkout"), 8),
    Step("order", Phase.SELL, _("Ordered"), 16),
    Step("repeat", Phase.RETAIN, _("Ordered again"), 32),
)
MODES = ("closed", "open")
BREAKDOWNS = {
    "source": pgettext_lazy("traffic", "Source"),
    "medium": _("Medium"),
    "campaign": _("Campaign"),
    "device": _("Device"),
    "category": _("Category"),
}
FUNNEL_KINDS = (Kind.CAMPAIGN_LANDING, Kind.PRODUCT_VIEW, Kind.BASKET_ADD, Kind.CHECKOUT_START, Kind.ORDER_PLACED)


@dataclass
class StepCount:
    step: Step
    visits: int  # in the chosen mode
    open_visits: int  # reached this step, whatever came before
    conversion: Decimal | None = None  # % of the previous step's visits (None for the first or after 0)

    @property
    def drop_off(self) -> Decimal | None:
        return None if self.conversion is None else Decimal(100) - self.conversion


@dataclass
class BreakdownRow:
    value: str
    label: str
    visits: int
    steps: list[StepCount]


@dataclass
class FunnelResult:
    start: date
    end: date  # inclusive
    mode: str
    scope: str
    scope_id: int
    visits: int = 0  # every visit in scope, whatever it did
    steps: list[StepCount] = field(default_factory=list)
    by: str | None = None
    breakdown: list[BreakdownRow] = field(default_factory=list)
    daily: dict = field(default_factory=dict)  # {step key: [(day, visits)]} in the chosen mode
    live_days: int = 0  # days computed from the raw events (not rolled up yet)

    def step(self, key) -> StepCount:
        return next(s for s in self.steps if s.step.key == key)

    def brakes(self, threshold=None) -> list[StepCount]:
        """Steps whose drop-off from the previous step is at least ``threshold`` % (FUNNEL_BRAKE_DROP_OFF)."""
        if threshold is None:
            threshold = Decimal(str(journey_settings.FUNNEL_BRAKE_DROP_OFF))
        return [s for s in self.steps if s.drop_off is not None and s.drop_off >= threshold]


# Periods ----------------------------------------------------------------------------------------------------------
def store_tz():
    return store_time_zone()


def as_days(start, end) -> tuple[date, date]:
    """Store days covered by ``[start, end)`` datetimes, or by the inclusive dates ``start``..``end``."""
    tz = store_tz()
    if isinstance(start, datetime):
        start = start.astimezone(tz).date()
    if isinstance(end, datetime):
        end = (end - timedelta(microseconds=1)).astimezone(tz).date()
    if not isinstance(start, date) or not isinstance(end, date):
        raise FunnelError("start and end must be dates or datetimes")
    if end < start:
        raise FunnelError("the period ends before it starts")
    return start, end




# The SQL: events of whole store days -> (day, scope, scope_id, source, medium, campaign, device, mask, visits) -----
def _tables():
    from ..core.models import JourneyEvent

    Order = get_model("order", "Order")
    Line = get_model("order", "Line")
    Product = get_model("catalogue", "Product")
    Category = get_model("catalogue", "Category")
    return {
        "events": JourneyEvent._meta.db_table,
        "order": Order._meta.db_table,
        "line": Line._meta.db_table,
        "product": Product._meta.db_table,
        "category": Category._meta.db_table,
        "product_category": Product.categories.through._meta.db_table,
    }


ROLLUP_SQL = """
WITH ev AS (
    SELECT CASE WHEN e.visitor_id <> '' THEN e.visitor_id ELSE 'u' || e.user_id::text END AS vkey,
           e.visitor_id, e.user_id, (e.created_at AT TIME ZONE %(tz)s)::date AS day, e.kind, e.created_at,
           e.device, e.source, e.medium, e.campaign, e.product_id, e.order_id
    FROM {events} e
    WHERE e.created_at >= %(start)s AND e.created_at < %(end)s
      AND e.kind IN ('landing', 'product_view', 'basket_add', 'checkout_start', 'order_placed')
      AND (e.visitor_id <> '' OR e.user_id IS NOT NULL)
), ev_orders AS (
    SELECT o.id,
           (o.user_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM {order} p WHERE p.user_id = o.user_id AND p.date_placed < o.date_placed))
           OR (o.user_id IS NULL AND o.guest_email <> '' AND EXISTS (
                SELECT 1 FROM {order} p WHERE p.guest_email = o.guest_email AND p.date_placed < o.date_placed))
           AS repeat
    FROM {order} o
    WHERE o.id IN (SELECT order_id FROM ev WHERE kind = 'order_placed' AND order_id IS NOT NULL)
), visits AS (
    SELECT ev.vkey, ev.day, max(ev.visitor_id) AS visitor_id, max(ev.user_id) AS user_id,
           min(ev.created_at) AS first_at,
           bool_or(ev.kind = 'landing') AS landed,
           bool_or(ev.kind = 'product_view') AS viewed,
           bool_or(ev.kind = 'basket_add') AS added,
           bool_or(ev.kind = 'checkout_start') AS checkout,
           bool_or(ev.kind = 'order_placed') AS ordered,
           coalesce(bool_or(ev_orders.repeat), false) AS repeat,
           (array_agg(ev.source ORDER BY ev.created_at) FILTER (WHERE ev.kind = 'landing'))[1] AS source,
           (array_agg(ev.medium ORDER BY ev.created_at) FILTER (WHERE ev.kind = 'landing'))[1] AS medium,
           (array_agg(ev.campaign ORDER BY ev.created_at) FILTER (WHERE ev.kind = 'landing'))[1] AS campaign,
           (array_agg(ev.device ORDER BY ev.created_at) FILTER (WHERE ev.device <> ''))[1] AS device
    FROM ev LEFT JOIN ev_orders ON ev.kind = 'order_placed' AND ev_orders.id = ev.order_id
    GROUP BY ev.vkey, ev.day
), carried AS (
    SELECT v.vkey, v.day, l.source, l.medium, l.campaign
    FROM visits v CROSS JOIN LATERAL (
        SELECT p.source, p.medium, p.campaign FROM {events} p
        WHERE p.visitor_id = v.visitor_id AND p.kind = 'landing'
          AND p.created_at < v.first_at AND p.created_at >= v.first_at - %(carry)s
        ORDER BY p.created_at DESC LIMIT 1) l
    WHERE NOT v.landed AND v.visitor_id <> ''
    UNION ALL
    SELECT v.vkey, v.day, l.source, l.medium, l.campaign
    FROM visits v CROSS JOIN LATERAL (
        SELECT p.source, p.medium, p.campaign FROM {events} p
        WHERE p.user_id = v.user_id AND p.kind = 'landing'
          AND p.created_at < v.first_at AND p.created_at >= v.first_at - %(carry)s
        ORDER BY p.created_at DESC LIMIT 1) l
    WHERE NOT v.landed AND v.visitor_id = ''
), v2 AS (
    SELECT v.vkey, v.day, v.checkout, v.repeat, v.device,
           (v.landed OR c.vkey IS NOT NULL) AS attracted,
           CASE WHEN v.landed THEN v.source ELSE c.source END AS source,
           CASE WHEN v.landed THEN v.medium ELSE c.medium END AS medium,
           CASE WHEN v.landed THEN v.campaign ELSE c.campaign END AS campaign,
           (CASE WHEN v.landed OR c.vkey IS NOT NULL THEN 1 ELSE 0 END) + (CASE WHEN v.viewed THEN 2 ELSE 0 END)
           + (CASE WHEN v.added THEN 4 ELSE 0 END) + (CASE WHEN v.checkout THEN 8 ELSE 0 END)
           + (CASE WHEN v.ordered THEN 16 ELSE 0 END) + (CASE WHEN v.ordered AND v.repeat THEN 32 ELSE 0 END)
           AS mask
    FROM visits v LEFT JOIN carried c ON c.vkey = v.vkey AND c.day = v.day
), vp AS (
    SELECT vkey, day, product_id, bool_or(viewed) AS viewed, bool_or(added) AS added, bool_or(ordered) AS ordered
    FROM (
        SELECT ev.vkey, ev.day, coalesce(pr.parent_id, pr.id) AS product_id, ev.kind = 'product_view' AS viewed,
               ev.kind = 'basket_add' AS added, false AS ordered
        FROM ev JOIN {product} pr ON pr.id = ev.product_id
        WHERE ev.kind IN ('product_view', 'basket_add')
        UNION ALL
        SELECT ev.vkey, ev.day, coalesce(pr.parent_id, pr.id), false, false, true
        FROM ev JOIN {line} l ON l.order_id = ev.order_id JOIN {product} pr ON pr.id = l.product_id
        WHERE ev.kind = 'order_placed'
    ) x GROUP BY vkey, day, product_id
), cats AS (
    SELECT c.id, a.id AS ancestor FROM {category} c JOIN {category} a ON c.path LIKE a.path || '%%'
), vc AS (
    SELECT vp.vkey, vp.day, cats.ancestor AS category_id, bool_or(vp.viewed) AS viewed, bool_or(vp.added) AS added,
           bool_or(vp.ordered) AS ordered
    FROM vp JOIN {product_category} pc ON pc.product_id = vp.product_id JOIN cats ON cats.id = pc.category_id
    GROUP BY vp.vkey, vp.day, cats.ancestor
)
SELECT * FROM (
    SELECT day, 'shop' AS scope, 0::bigint AS scope_id, coalesce(source, '') AS source, coalesce(medium, '') AS medium,
           coalesce(campaign, '') AS campaign, coalesce(device, '') AS device, mask, count(*) AS visits
    FROM v2 GROUP BY day, source, medium, campaign, device, mask
    UNION ALL
    SELECT x.day, 'product', x.product_id, '', '', '', '',
           (v2.mask & 1) + (CASE WHEN x.viewed THEN 2 ELSE 0 END) + (CASE WHEN x.added THEN 4 ELSE 0 END)
           + (v2.mask & 8) + (CASE WHEN x.ordered THEN 16 ELSE 0 END)
           + (CASE WHEN x.ordered AND v2.repeat THEN 32 ELSE 0 END),
           count(*)
    FROM vp x JOIN v2 ON v2.vkey = x.vkey AND v2.day = x.day GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    UNION ALL
    SELECT x.day, 'category', x.category_id, '', '', '', '',
           (v2.mask & 1) + (CASE WHEN x.viewed THEN 2 ELSE 0 END) + (CASE WHEN x.added THEN 4 ELSE 0 END)
           + (v2.mask & 8) + (CASE WHEN x.ordered THEN 16 ELSE 0 END)
           + (CASE WHEN x.ordered AND v2.repeat THEN 32 ELSE 0 END),
           count(*)
    FROM vc x JOIN v2 ON v2.vkey = x.vkey AND v2.day = x.day GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
) rows
WHERE {where}
"""
COLUMNS = ("day", "scope", "scope_id", "source", "medium", "campaign", "device", "mask", "visits")


def rollup_sql(where="true"):
    return ROLLUP_SQL.format(where=where, **_tables())


def rollup_params(first: date, last: date) -> dict:
    return {
        "tz": str(store_tz()),
        "start": day_start(first),
        "end": day_start(last + timedelta(days=1)),
        "carry": timedelta(days=journey_settings.FUNNEL_LANDING_CARRY_DAYS),
    }


def sql_rollup() -> bool:
    """Whether the rollup rows come from ROLLUP_SQL (PostgreSQL: one statement) or from :mod:`.funnel_rows`
    (every other database: the same rows computed in Python)."""
    return connection.vendor == "postgresql"


def python_rows(first: date, last: date, keep=None) -> list[tuple]:
    """The rollup rows of store days ``first``..``last`` computed in Python; only those ``keep(row)`` accepts."""
    from .funnel_rows import rollup_rows

    params = rollup_params(first, last)
    rows = rollup_rows(params["start"], params["end"], store_tz(), params["carry"])
    return rows if keep is None else [row for row in rows if keep(row)]


def live_rows(first: date, last: date, scopes: list[tuple[str, int]] | None = None) -> list[tuple]:
    """The rollup rows of store days ``first``..``last`` computed now from the events (only ``scopes`` if given)."""
    if not sql_rollup():
        wanted = {(str(scope), int(scope_id)) for scope, scope_id in scopes or ()}
        return python_rows(first, last, (lambda row: (row[1], row[2]) in wanted) if scopes else None)
    params = rollup_params(first, last)
    where = "true"
    if scopes:
        clauses = []
        for i, (scope, scope_id) in enumerate(scopes):
            params[f"scope{i}"], params[f"scope_id{i}"] = scope, scope_id
            clauses.append(f"(scope = %(scope{i})s AND scope_id = %(scope_id{i})s)")
        where = " OR ".join(clauses)
    with connection.cursor() as cursor:
        cursor.execute(rollup_sql(where), params)
        return cursor.fetchall()


# Reading: rolled-up days + live days ---------------------------------------------------------------------------
def _ranges(days: list[date]) -> list[tuple[date, date]]:
    """Contiguous (first, last) runs of sorted ``days``."""
    runs = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _scope(category=None, product=None) -> tuple[str, int]:
    if category is not None and product is not None:
        raise FunnelError("filter by a category or a product, not both")
    if product is not None:
        Product = get_model("catalogue", "Product")
        product = product if isinstance(product, Product) else Product.objects.get(pk=product)
        return FunnelScope.PRODUCT, product.parent_id or product.pk
    if category is not None:
        return FunnelScope.CATEGORY, int(getattr(category, "pk", category))
    return FunnelScope.SHOP, 0


def _counts(first, last, scope, scope_id, group):
    """{(group values…, mask): visits} and {(day, mask): visits} for the period, stored + live."""
    final_days = RollupDay.objects.filter(day__gte=first, day__lte=last, final=True)
    stored = FunnelDay.objects.filter(scope=scope, scope_id=scope_id, day__gte=first, day__lte=last,
                                      day__in=Subquery(final_days.values("day")))
    by_group = defaultdict(int)
    by_day = defaultdict(int)
    for row in stored.values(*group, "day", "mask").annotate(n=Sum("visits")).order_by():
        by_group[(*(row[g] for g in group), row["mask"])] += row["n"]
        by_day[(row["day"], row["mask"])] += row["n"]
    have = set(final_days.values_list("day", flat=True))
    missing = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    missing = [d for d in missing if d not in have]
    index = {name: COLUMNS.index(name) for name in COLUMNS}
    for run_first, run_last in _ranges(missing):
        for row in live_rows(run_first, run_last, [(scope, scope_id)]):
            mask, visits = row[index["mask"]], row[index["visits"]]
            by_group[(*(row[index[g]] for g in group), mask)] += visits
            by_day[(row[index["day"]], mask)] += visits
    return by_group, by_day, len(missing)


def _counts_many(first, last, scope, ids) -> dict[int, dict[int, int]]:
    """{scope id: {mask: visits}} for several ids of one scope: one stored query, one live query per run of days."""
    final_days = RollupDay.objects.filter(day__gte=first, day__lte=last, final=True)
    result = defaultdict(lambda: defaultdict(int))
    if not ids:
        return result
    for row in (FunnelDay.objects.filter(scope=scope, scope_id__in=ids, day__gte=first, day__lte=last,
                                         day__in=Subquery(final_days.values("day")))
                .values("scope_id", "mask").annotate(n=Sum("visits")).order_by()):
        result[row["scope_id"]][row["mask"]] += row["n"]
    have = set(final_days.values_list("day", flat=True))
    missing = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    wanted = {int(i) for i in ids}
    for run_first, run_last in _ranges([d for d in missing if d not in have]):
        if not sql_rollup():
            for row in python_rows(run_first, run_last, lambda row: row[1] == scope and row[2] in wanted):
                result[row[2]][row[7]] += row[8]
            continue
        params = rollup_params(run_first, run_last)
        params.update(scope=scope, ids=list(ids))
        with connection.cursor() as cursor:
            cursor.execute(rollup_sql("scope = %(scope)s AND scope_id = ANY(%(ids)s)"), params)
            for row in cursor.fetchall():
                result[row[2]][row[7]] += row[8]
    return result


def step_counts(masks: dict[int, int], mode: str) -> list[StepCount]:
    """Per-step visits from {mask: visits}."""
    counts, previous, needed = [], None, 0
    for step in STEPS:
        needed |= step.bit
        closed = sum(n for m, n in masks.items() if m & needed == needed)
        opened = sum(n for m, n in masks.items() if m & step.bit)
        visits = closed if mode == "closed" else opened
        counts.append(StepCount(step, visits, opened,
                                None if previous is None else percentage(visits, previous)))
        previous = visits
    return counts


def funnel(start, end, *, category=None, product=None, mode: str = "closed", by: str | None = None) -> FunnelResult:
    """The funnel of store days ``start``..``end`` (dates, inclusive; or datetimes, ``[start, end)``)."""
    if mode not in MODES:
        raise FunnelError(f"unknown funnel mode {mode!r}; use one of {', '.join(MODES)}")
    if by is not None and by not in BREAKDOWNS:
        raise FunnelError(f"unknown breakdown {by!r}; use one of {', '.join(BREAKDOWNS)}")
    first, last = as_days(start, end)
    scope, scope_id = _scope(category, product)
    if by == "category":
        return _by_category(first, last, scope, scope_id, mode)
    if by is not None and scope != FunnelScope.SHOP:
        raise FunnelError("a breakdown by source, medium, campaign or device is for the whole shop only")
    group = (by,) if by else ()
    by_group, by_day, live = _counts(first, last, scope, scope_id, group)
    result = FunnelResult(first, last, mode, scope, scope_id, by=by, live_days=live)
    masks = defaultdict(int)
    groups = defaultdict(lambda: defaultdict(int))
    for key, n in by_group.items():
        masks[key[-1]] += n
        groups[key[:-1]][key[-1]] += n
    result.visits = sum(masks.values())
    result.steps = step_counts(masks, mode)
    if by:
        rows = [BreakdownRow(key[0], key[0] or str(_("(none)")), sum(m.values()), step_counts(m, mode))
                for key, m in groups.items()]
        result.breakdown = sorted(rows, key=lambda r: (-r.visits, r.value))
    result.daily = _daily(first, last, by_day, mode)
    return result


def _daily(first, last, by_day, mode):
    per_day = defaultdict(lambda: defaultdict(int))
    for (day, mask), n in by_day.items():
        per_day[day][mask] += n
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    series = {step.key: [] for step in STEPS}
    for day in days:
        for count in step_counts(per_day.get(day, {}), mode):
            series[count.step.key].append((day, count.visits))
    return series


def _by_category(first, last, scope, scope_id, mode) -> FunnelResult:
    """The funnel of the shop (or of a category) with one row per category below it (top level for the shop)."""
    Category = get_model("catalogue", "Category")
    if scope == FunnelScope.PRODUCT:
        raise FunnelError("a product has no category breakdown")
    result = funnel(first, last, category=scope_id if scope == FunnelScope.CATEGORY else None, mode=mode)
    result.by = "category"
    if scope == FunnelScope.CATEGORY:
        parent = Category.objects.get(pk=scope_id)
        children = Category.objects.filter(path__startswith=parent.path, depth=parent.depth + 1)
    else:
        children = Category.objects.filter(depth=1)
    children = children.order_by("path")
    children = list(children)
    counts = _counts_many(first, last, FunnelScope.CATEGORY, [c.pk for c in children])
    for category in children:
        masks = counts.get(category.pk)
        if masks:
            result.breakdown.append(BreakdownRow(str(category.pk), category.name, sum(masks.values()),
                                                 step_counts(masks, mode)))
    result.breakdown.sort(key=lambda r: (-r.visits, r.label))
    return result


# The rollup job -------------------------------------------------------------------------------------------------
def _period_events(params):
    from ..core.models import JourneyEvent

    return (JourneyEvent.objects.filter(created_at__gte=params["start"], created_at__lt=params["end"])
            .annotate(day=TruncDate("created_at", tzinfo=store_tz())))


def tool_rows(params) -> list[tuple]:
    """(store day, tool, kind, events, sum of values) of the period's events that name a tool."""
    return list(_period_events(params).exclude(tool="").values("day", "tool", "kind")
                .annotate(n=Count("pk"), v=Sum("value")).order_by().values_list("day", "tool", "kind", "n", "v"))


def events_per_day(params) -> dict:
    """{store day: events} of the period."""
    return dict(_period_events(params).values("day").annotate(n=Count("pk")).order_by().values_list("day", "n"))


def rollup(first: date, last: date, now=None) -> int:
    """(Re)compute the stored rows of store days ``first``..``last`` in one transaction; returns rows written.

    Idempotent and safe to run concurrently: the days' RollupDay rows are locked first, so a second runner waits
    and then writes the same rows again.
    """
    from django.db import transaction

    from .models import ToolDay

    now = now or timezone.now()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    grace = timedelta(minutes=journey_settings.FUNNEL_FINAL_AFTER_MINUTES)
    with transaction.atomic():
        RollupDay.objects.bulk_create([RollupDay(day=d, computed_at=now) for d in days], ignore_conflicts=True)
        list(RollupDay.objects.select_for_update().filter(day__gte=first, day__lte=last).order_by("day"))
        params = rollup_params(first, last)
        columns = ", ".join(c for c in COLUMNS)
        with connection.cursor() as cursor:
            for model in (FunnelDay, ToolDay):  # one DELETE each (no per-row delete signals for a cache)
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE day >= %s AND day <= %s",  # noqa: S608
                               [first, last])
            if sql_rollup():
                cursor.execute(f"INSERT INTO {FunnelDay._meta.db_table} ({columns}) " + rollup_sql(),  # noqa: S608
                               params)
                written = cursor.rowcount
            else:
                rows = python_rows(first, last)
                FunnelDay.objects.bulk_create([FunnelDay(**dict(zip(COLUMNS, row, strict=True))) for row in rows],
                                              batch_size=500)
                written = len(rows)
        ToolDay.objects.bulk_create([ToolDay(day=day, tool=tool, kind=kind, events=n, value=value)
                                     for day, tool, kind, n, value in tool_rows(params)], batch_size=500)
        events = events_per_day(params)
        for day in days:
            RollupDay.objects.filter(day=day).update(
                computed_at=now, final=now >= day_start(day + timedelta(days=1)) + grace, events=events.get(day, 0))
    return written


def rollup_job(via="tick", now=None, chunk_days=None, max_days=None, budget_seconds=300):
    """Roll up every ended store day that is not final yet (from the first event on), oldest first.

    A long backfill stops after ``budget_seconds`` (well inside the job lease); the next run goes on from there.
    """
    import time as clock

    started = clock.monotonic()
    from ..core.models import JourneyEvent

    now = now or timezone.now()
    tz = store_tz()
    today = now.astimezone(tz).date()
    last_final = RollupDay.objects.filter(final=True).order_by("-day").values_list("day", flat=True).first()
    if last_final is None:
        first_event = JourneyEvent.objects.order_by("created_at").values_list("created_at", flat=True).first()
        if first_event is None:
            return "no events yet"
        since = first_event.astimezone(tz).date()
    else:
        since = last_final + timedelta(days=1)
    pending = set(RollupDay.objects.filter(final=False, day__lt=today).values_list("day", flat=True))
    days = sorted({since + timedelta(days=i) for i in range(max(0, (today - since).days))} | pending)
    if max_days:
        days = days[:max_days]
    chunk = chunk_days or journey_settings.FUNNEL_ROLLUP_CHUNK_DAYS
    rows = done = 0
    for run_first, run_last in _ranges(days):
        cursor = run_first
        while cursor <= run_last:
            if clock.monotonic() - started > budget_seconds:
                return f"{done} of {len(days)} days rolled up, {rows} rows (the rest next run)"
            chunk_last = min(run_last, cursor + timedelta(days=chunk - 1))
            rows += rollup(cursor, chunk_last, now)
            done += (chunk_last - cursor).days + 1
            cursor = chunk_last + timedelta(days=1)
    return f"{len(days)} days rolled up, {rows} rows"
