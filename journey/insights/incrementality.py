"""What each tool really earns: treatment against control per holdout period, with 95 % confidence intervals.

Methods (docs/measurement.md):
* conversion (share of people with an order in the window): difference treatment − control with Newcombe's hybrid
  score interval (method 10, built from the two Wilson score intervals) — good coverage with few conversions;
* revenue per person: difference of means with Welch's t interval (unequal variances, Welch–Satterthwaite degrees
  of freedom); scipy.stats gives the normal and t quantiles;
* incremental orders and revenue: those differences times the people in treatment (the interval scaled alike);
* people needed: the two-proportion sample size for the minimum lift (two-sided 5 %, power 80 %) at the period's
  control conversion and split.
Both groups' orders come from the same place (journey.core.experiments: Oscar's orders within the same window after
each person's decision), so the comparison is fair by construction."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _
from scipy import stats

from ..conf import journey_settings
from ..core.experiments.models import Assignment, Experiment
from ..core.experiments.totals import GroupTotals, period_totals

Z95 = float(stats.norm.ppf(0.975))
Z80 = float(stats.norm.ppf(0.80))
T, C = Assignment.Group.TREATMENT, Assignment.Group.CONTROL


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """(p1 − p2, lower, upper): Newcombe's hybrid score interval for a difference of two proportions."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def welch(s1: float, ss1: float, n1: int, s2: float, ss2: float, n2: int) -> tuple[float, float, float]:
    """(mean1 − mean2, lower, upper): Welch's 95 % t interval from sums and sums of squares."""
    m1, m2 = s1 / n1, s2 / n2
    v1 = max(ss1 - n1 * m1 * m1, 0.0) / (n1 - 1) if n1 > 1 else 0.0
    v2 = max(ss2 - n2 * m2 * m2, 0.0) / (n2 - 1) if n2 > 1 else 0.0
    a, b = v1 / n1, v2 / n2
    se = math.sqrt(a + b)
    d = m1 - m2
    if se == 0:
        return d, d, d
    df = (a + b) ** 2 / ((a * a / (n1 - 1) if n1 > 1 else 0) + (b * b / (n2 - 1) if n2 > 1 else 0) or 1e-12)
    t = float(stats.t.ppf(0.975, max(df, 1.0)))
    return d, d - t * se, d + t * se


def people_needed(p_control: float, lift: float, control_share: float) -> int:
    """People (both groups) needed to detect ``lift`` (a difference of proportions) at 5 % two-sided, power 80 %."""
    p1 = min(max(p_control, 0.01), 0.97)
    p2 = min(p1 + lift, 0.99)
    s = min(max(control_share, 0.01), 0.99)
    n = (Z95 + Z80) ** 2 * (p2 * (1 - p2) / (1 - s) + p1 * (1 - p1) / s) / (lift * lift)
    return math.ceil(n)


@dataclass
class Interval:
    value: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    def scaled(self, factor: float) -> Interval:
        return Interval(self.value * factor, self.low * factor, self.high * factor)


@dataclass
class PeriodResult:
    """One tool's holdout period: the groups, the differences with their intervals, and the verdict."""

    experiment: Experiment
    treatment: GroupTotals
    control: GroupTotals
    conversion_t: float | None = None
    conversion_c: float | None = None
    revenue_per_person_t: float | None = None
    revenue_per_person_c: float | None = None
    lift: Interval | None = None  # conversion difference (a share, 0.02 = 2 points)
    relative_lift: float | None = None
    revenue_lift: Interval | None = None  # per person
    incremental_orders: Interval | None = None
    incremental_revenue: Interval | None = None
    voucher_cost: Decimal = Decimal("0.00")
    incremental_margin: float | None = None
    more_people: int | None = None
    verdict: str = ""
    significant: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def key(self):
        return self.experiment.key

    @property
    def people(self):
        return self.treatment.people + self.control.people


def analyse(experiment: Experiment, treatment: GroupTotals, control: GroupTotals) -> PeriodResult:
    r = PeriodResult(experiment, treatment, control)
    nt, nc = treatment.people, control.people
    min_lift = float(journey_settings.MEASUREMENT_MIN_LIFT_POINTS) / 100
    if not nt or not nc:
        r.verdict = _("Not enough data yet: nobody is in both groups so far.") if (nt or nc) else \
            _("No one measured yet.")
        return r
    r.conversion_t, r.conversion_c = treatment.converted / nt, control.converted / nc
    r.revenue_per_person_t, r.revenue_per_person_c = float(treatment.revenue) / nt, float(control.revenue) / nc
    r.lift = Interval(*newcombe(treatment.converted, nt, control.converted, nc))
    if r.conversion_c:
        r.relative_lift = r.lift.value / r.conversion_c
    r.revenue_lift = Interval(*welch(float(treatment.revenue), float(treatment.revenue_sq), nt,
                                     float(control.revenue), float(control.revenue_sq), nc))
    r.incremental_orders = r.lift.scaled(nt)
    r.incremental_revenue = r.revenue_lift.scaled(nt)
    control_discount_per_person = control.discount / nc
    r.voucher_cost = (treatment.discount - control_discount_per_person * nt).quantize(Decimal("0.01"))
    r.incremental_margin = r.incremental_revenue.value * float(journey_settings.MEASUREMENT_MARGIN)
    share = float(experiment.holdout_share) or nc / (nt + nc)
    r.more_people = max(0, people_needed(r.conversion_c, min_lift, share) - (nt + nc))
    r.significant = r.lift.significant
    points = {"value": _pts(r.lift.value), "low": _pts(r.lift.low), "high": _pts(r.lift.high)}
    if r.significant and r.lift.value > 0:
        r.verdict = _("Significant at 95 %%: the tool brings %(value)s more points of conversion "
                      "(between %(low)s and %(high)s).") % points
    elif r.significant:
        r.verdict = _("Significant at 95 %%: people who get the tool order less (%(value)s points, between "
                      "%(low)s and %(high)s).") % points
    elif r.more_people:
        r.verdict = _("Not enough data yet: about %(n)s more people to detect a %(lift)s-point lift.") % {
            "n": f"{r.more_people:,}", "lift": journey_settings.MEASUREMENT_MIN_LIFT_POINTS}
    else:
        r.verdict = _("No difference found: the lift is between %(low)s and %(high)s points.") % points
    return r


def _pts(share: float) -> str:
    return f"{share * 100:+.1f}"


def results(keys=None, *, current_only=False, decided_from: datetime | None = None,
            decided_to: datetime | None = None) -> list[PeriodResult]:
    """The results of every holdout period (of ``keys``), newest first per tool; one aggregate query."""
    periods = Experiment.objects.all()
    if keys is not None:
        periods = periods.filter(key__in=list(keys))
    if current_only:
        periods = periods.filter(ended_at__isnull=True)
    periods = list(periods.order_by("key", "-started_at"))
    totals = period_totals([p.pk for p in periods], decided_from=decided_from, decided_to=decided_to)
    out = []
    for p in periods:
        out.append(analyse(p, totals.get((p.pk, T, ""), GroupTotals()), totals.get((p.pk, C, ""), GroupTotals())))
    return out


# The journey map: attributed against incremental revenue, per measured tool ------------------------------------
@dataclass
class MapRow:
    key: str
    label: str
    attributed: Decimal
    result: PeriodResult

    @property
    def incremental(self) -> Interval | None:
        return self.result.incremental_revenue


@dataclass
class ChartRow:
    label: str
    y: float
    attributed_x: float
    attributed_w: float
    incremental_x: float | None
    incremental_w: float
    low_x: float | None
    high_x: float | None
    row: MapRow


@dataclass
class MapChart:
    width: int
    height: int
    label_width: int
    zero_x: float
    bar: int
    rows: list[ChartRow]


def map_rows(start, end, attribution=None) -> list[MapRow]:
    """Per tool measured in [start, end): the revenue attribution credits it with beside the revenue its holdout
    shows it caused, for the people decided in the span, in the tool's latest period overlapping it (one period per
    tool: numbers never mix shares).  Two queries."""
    from .attribution import tool_label

    periods = {}
    for p in (Experiment.objects.filter(started_at__lt=end).exclude(ended_at__lte=start)
              .filter(holdout_share__gt=0).order_by("key", "-started_at")):
        periods.setdefault(p.key, p)
    if not periods:
        return []
    totals = period_totals([p.pk for p in periods.values()], decided_from=start, decided_to=end)
    attributed = {row.tool: row.revenue for row in attribution.per_tool} if attribution is not None else {}
    rows = []
    for key, p in sorted(periods.items()):
        result = analyse(p, totals.get((p.pk, T, ""), GroupTotals()), totals.get((p.pk, C, ""), GroupTotals()))
        rows.append(MapRow(key, tool_label(key), Decimal(attributed.get(key) or 0), result))
    return rows


def map_chart(rows: list[MapRow], *, width=720, label_width=200, bar=14, gap=18) -> MapChart | None:
    """Geometry of the side-by-side bars: attributed revenue, and incremental revenue with its 95 % interval drawn
    as a line with end caps (an interval crossing zero shows the tool may have caused nothing)."""
    if not rows:
        return None
    values = [0.0]
    for row in rows:
        values.append(float(row.attributed))
        if row.incremental is not None:
            values += [row.incremental.low, row.incremental.high]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    plot = width - label_width - 20
    x = lambda v: round(label_width + (v - low) / span * plot, 2)  # noqa: E731
    zero = x(0.0)
    out = []
    for i, row in enumerate(rows):
        y = i * (2 * bar + gap)
        a = float(row.attributed)
        inc_ = row.incremental
        out.append(ChartRow(
            str(row.label), y, min(zero, x(a)), abs(x(a) - zero),
            min(zero, x(inc_.value)) if inc_ else None, abs(x(inc_.value) - zero) if inc_ else 0.0,
            x(inc_.low) if inc_ else None, x(inc_.high) if inc_ else None, row))
    return MapChart(width, len(rows) * (2 * bar + gap), label_width, zero, bar, out)
