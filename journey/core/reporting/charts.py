"""Server-side charts for the admin pages: geometry computed here, drawn as inline SVG by the templates.

No JavaScript and no external library: the charts print, work without network access and are readable by screen
readers (each chart has a title, a description and a ``<title>`` per column).  Used by the journey map (time
series, funnel, sparklines) and the recovery and Retain reports (:mod:`journey.core.reporting.mail_chart`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

# Colours of the series, in order (the admin's blues, then amber and green as in the recovery report).
BAR_COLOURS = ("#79aec8", "#417690", "#9ab87a")
LINE_COLOURS = ("#e0a100", "#2e8540", "#ba2121")


def nice_max(value):
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10ⁿ)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def bucket_unit(days: int, max_columns: int) -> str:
    """"day", "week" or "month": the finest unit that shows ``days`` days in at most ``max_columns`` columns."""
    if days <= max_columns:
        return "day"
    return "week" if days <= max_columns * 7 else "month"


def bucket_key(day: date, unit: str) -> date:
    """The first day of ``day``'s bucket."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


# Time series: bars on the left axis, lines on the right axis -----------------------------------------------------
@dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: list  # one number per day of the chart, in order
    money: bool = False


@dataclass
class Bar:
    x: float
    y: float
    h: float
    colour: str


@dataclass
class Column:
    first: date
    last: date
    x: float
    width: float
    bars: list[Bar]
    points: list[tuple[float, float]]
    title: str


@dataclass
class Line:
    label: str
    colour: str
    points: str


class PlotArea:
    """Geometry helpers of an SVG chart with ``width``, ``height`` and margins ``left``, ``right``, ``top``,
    ``bottom`` (the templates draw in the plot area between the margins)."""

    @property
    def plot_right(self):
        return self.width - self.right

    @property
    def plot_bottom(self):
        return self.height - self.bottom

    @property
    def plot_height(self):
        return self.height - self.top - self.bottom

    @property
    def plot_width(self):
        return self.width - self.left - self.right

    @property
    def middle_x(self):
        return self.left + self.plot_width / 2

    @property
    def middle_y(self):
        return self.top + self.plot_height / 2


@dataclass
class TimeChart(PlotArea):
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    unit: str
    bar: float
    columns: list[Column]
    lines: list[Line]
    legend: list[tuple[str, str, str]]  # (colour, label, "bar" | "line")
    ticks: list[tuple[float, str]]
    left_label: str
    right_label: str
    empty: bool


def _locale():
    from django.conf import settings
    from django.utils.translation import get_language, to_locale

    return to_locale(get_language() or settings.LANGUAGE_CODE)


def format_money(value, currency="") -> str:
    """``355,198.78 USD`` in English, ``355.198,78 USD`` in Spanish: two decimals, thousands grouped by the active
    language's rules (Babel's CLDR data, as Oscar's ``currency`` filter does)."""
    from babel.numbers import format_decimal

    return f"{format_decimal(Decimal(str(value)), format='#,##0.00', locale=_locale())} {currency}".strip()


def format_count(value, decimal_pos=None) -> str:
    """``12,345`` in English, ``12.345`` in Spanish (``decimal_pos`` rounds to that many decimals)."""
    from babel.numbers import format_decimal

    if decimal_pos is not None:
        value = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimal_pos))
    return format_decimal(value, locale=_locale())


def _fmt(value, money, currency=""):
    return format_money(value, currency) if money else format_count(value)


def time_chart(days: list[date], bars: list[Series], lines: list[Series], *, currency="", width=720, height=240,
               max_columns=92) -> TimeChart:
    """Bars (counts) and lines (money) per day, grouped by week or month when there are many days."""
    left, right, top, bottom = 44, 72, 12, 28
    unit = bucket_unit(len(days), max_columns)
    groups: dict[date, list[int]] = {}
    for i, day in enumerate(days):
        groups.setdefault(bucket_key(day, unit), []).append(i)
    buckets = list(groups.values())

    def total(series, indexes):
        return sum((series.values[i] for i in indexes), Decimal(0) if series.money else 0)

    bar_totals = [[total(s, b) for b in buckets] for s in bars]
    line_totals = [[total(s, b) for b in buckets] for s in lines]
    max_bar = nice_max(max([v for row in bar_totals for v in row], default=0))
    max_line = Decimal(nice_max(max([v for row in line_totals for v in row], default=0)))
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(1, len(buckets))
    bar_w = max(0.5, slot * 0.8 / max(1, len(bars)))
    columns = []
    for j, indexes in enumerate(buckets):
        x = left + j * slot
        first, last = days[indexes[0]], days[indexes[-1]]
        column_bars = []
        for k, _series in enumerate(bars):
            h = plot_h * bar_totals[k][j] / max_bar
            column_bars.append(Bar(round(x + slot * 0.1 + k * bar_w, 2), round(top + plot_h - h, 2), round(h, 2),
                                   BAR_COLOURS[k % len(BAR_COLOURS)]))
        points = [(round(x + slot / 2, 2), round(top + plot_h - float(Decimal(plot_h) * line_totals[k][j] / max_line),
                                                 2)) for k in range(len(lines))]
        when = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
        parts = [f"{s.label}: {_fmt(bar_totals[k][j], s.money, currency)}" for k, s in enumerate(bars)]
        parts += [f"{s.label}: {_fmt(line_totals[k][j], s.money, currency)}" for k, s in enumerate(lines)]
        columns.append(Column(first, last, round(x, 2), round(slot, 2), column_bars, points,
                              f"{when}: " + ", ".join(parts)))
    chart_lines = [Line(s.label, LINE_COLOURS[k % len(LINE_COLOURS)],
                        " ".join(f"{c.points[k][0]},{c.points[k][1]}" for c in columns)) for k, s in enumerate(lines)]
    legend = [(BAR_COLOURS[k % len(BAR_COLOURS)], s.label, "bar") for k, s in enumerate(bars)]
    legend += [(line.colour, line.label, "line") for line in chart_lines]
    ticks = []
    if buckets:
        for j in sorted({0, len(buckets) // 2, len(buckets) - 1}):
            ticks.append((round(left + j * slot + slot / 2, 2), days[buckets[j][0]].isoformat()))
    empty = not any(v for row in bar_totals + line_totals for v in row)
    return TimeChart(width, height, left, right, top, bottom, unit, round(bar_w, 2), columns, chart_lines, legend,
                     ticks, format_count(max_bar), f"{format_count(max_line, 0)} {currency}".strip(), empty)


# Sparklines ------------------------------------------------------------------------------------------------------
@dataclass
class Sparkline:
    width: int
    height: int
    points: str
    area: str
    total: object
    last: object
    empty: bool
    title: str = ""


def sparkline(values: list, *, width=120, height=28, title="") -> Sparkline:
    """A small line of ``values`` (one per day or bucket), scaled to its own maximum."""
    values = [v or 0 for v in values] or [0]
    top = max(values) or 1
    step = width / max(1, len(values) - 1)
    coords = [(round(i * step, 2), round(height - 2 - (height - 4) * float(v) / float(top), 2))
              for i, v in enumerate(values)]
    points = " ".join(f"{x},{y}" for x, y in coords)
    area = f"0,{height} " + points + f" {coords[-1][0]},{height}"
    return Sparkline(width, height, points, area, sum(values), values[-1], not any(values), title)


# The funnel ------------------------------------------------------------------------------------------------------
@dataclass
class FunnelBar:
    label: str
    phase: str
    visits: int
    conversion: object
    x: float
    width: float
    y: float
    brake: bool


@dataclass
class FunnelChart:
    width: int
    height: int
    bar_height: int
    label_width: int
    bars: list[FunnelBar] = field(default_factory=list)
    empty: bool = True


def funnel_chart(steps, brakes=(), *, width=720, bar_height=30, gap=8, label_width=230) -> FunnelChart:
    """Horizontal bars, centred like a funnel, one per :class:`~journey.insights.funnel.StepCount`."""
    plot = width - label_width - 130
    top = max([s.visits for s in steps], default=0) or 1
    brake_keys = {s.step.key for s in brakes}
    bars = []
    for i, step in enumerate(steps):
        w = max(2.0, plot * step.visits / top) if step.visits else 0.0
        bars.append(FunnelBar(str(step.step.label), str(step.step.phase), step.visits, step.conversion,
                              round(label_width + (plot - w) / 2, 2), round(w, 2), i * (bar_height + gap),
                              step.step.key in brake_keys))
    height = len(steps) * (bar_height + gap)
    return FunnelChart(width, height, bar_height, label_width, bars, not any(s.visits for s in steps))
