"""A program's mails day by day, and their chart: what the recovery report and the Retain report both draw.

A :class:`Day` is one store-time-zone day: mails sent, mails clicked, what they brought (recovered baskets for
recovery, redeemed vouchers for a Retain program — the ``recovered`` slot) and its revenue.  :func:`days_between`
builds the rows (every day present) from per-day counts, :func:`count_per_day` makes those counts with one
aggregate query, and :func:`build_chart` lays them out for the SVG template (bars for mails, a line for revenue).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils.translation import gettext

from .charts import PlotArea, bucket_key, bucket_unit, format_count, format_money, nice_max
from .periods import store_time_zone, trim_leading_empty

ZERO = Decimal("0.00")


class Day(NamedTuple):
    """One day of a program's daily series: a tuple (date, sent, clicked, recovered, recovered_revenue)."""

    day: date
    sent: int = 0
    clicked: int = 0
    recovered: int = 0
    recovered_revenue: Decimal = ZERO


def count_per_day(queryset, field: str, start: datetime, end: datetime) -> dict[date, int]:
    """{store day: rows of ``queryset`` whose ``field`` falls on it}, for ``[start, end)``: one query."""
    tz = store_time_zone()
    return dict(
        queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end})
        .annotate(day=TruncDate(field, tzinfo=tz)).values("day").annotate(n=Count("id"))
        .order_by().values_list("day", "n")
    )


def days_between(start: datetime, end: datetime, *, sent: Mapping[date, int], clicked: Mapping[date, int],
                 recovered: Mapping[date, tuple[int, Decimal]]) -> list[Day]:
    """One :class:`Day` per store-time-zone day of ``[start, end)``, every day present (zeros where nothing
    happened); ``recovered`` maps a day to (count, revenue)."""
    tz = store_time_zone()
    days, day = [], start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    while day <= last:
        n, revenue = recovered.get(day, (0, ZERO))
        days.append(Day(day, sent.get(day, 0), clicked.get(day, 0), n, revenue))
        day += timedelta(days=1)
    return days


def trim_quiet_start(days: list[Day], keep=30) -> list[Day]:
    """Long periods ("all time"): start the chart at the first day a mail was sent, clicked or brought something."""
    return trim_leading_empty(days, lambda d: d.sent or d.clicked or d.recovered, keep)


# The chart -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bucket:
    first: date
    last: date
    sent: int
    clicked: int
    recovered: int
    revenue: Decimal


@dataclass
class ChartColumn:
    bucket: Bucket
    x: float
    width: float
    sent_x: float
    sent_y: float
    sent_h: float
    clicked_x: float
    clicked_y: float
    clicked_h: float
    revenue_x: float
    revenue_y: float
    title: str


@dataclass
class Chart(PlotArea):
    """Geometry of the server-rendered SVG chart (the template draws it): bars for mails sent and clicked on the
    left axis, revenue as a line with points on the right axis."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    columns: list[ChartColumn]
    max_count: int
    max_revenue: Decimal
    unit: str  # day | week | month
    bar: float
    ticks: list[tuple[float, str]]
    line_points: str
    empty: bool
    max_count_label: str = ""
    max_revenue_label: str = ""


def _bucket(days: list[Day], max_columns: int) -> tuple[list[Bucket], str]:
    unit = bucket_unit(len(days), max_columns)
    groups: dict[date, list[Day]] = {}
    for day in days:
        groups.setdefault(bucket_key(day.day, unit), []).append(day)
    return [
        Bucket(group[0].day, group[-1].day, sum(d.sent for d in group), sum(d.clicked for d in group),
               sum(d.recovered for d in group), sum((d.recovered_revenue for d in group), ZERO))
        for group in groups.values()
    ], unit


def build_chart(days: list[Day], *, currency: str = "", width=720, height=260, max_columns=92,
                column_title=None) -> Chart:
    """Lay out daily rows (grouped by week or month when there are many) for the SVG template
    (journey/admin/_mail_chart.html).  ``column_title``: the hover text of a column, a translated format with
    ``when``, ``sent``, ``clicked``, ``recovered``, ``revenue`` and ``currency`` (default: recovery's words)."""
    left, right, top, bottom = 44, 64, 12, 28
    buckets, unit = _bucket(days, max_columns)
    plot_w, plot_h = width - left - right, height - top - bottom
    max_count = nice_max(max([max(b.sent, b.clicked) for b in buckets], default=0))
    max_revenue = Decimal(nice_max(max([b.revenue for b in buckets], default=ZERO)))
    slot = plot_w / max(1, len(buckets))
    bar = max(0.5, slot * 0.4)
    columns, points = [], []
    for i, b in enumerate(buckets):
        x = left + i * slot
        sent_h = plot_h * b.sent / max_count
        clicked_h = plot_h * b.clicked / max_count
        revenue_y = top + plot_h - float(Decimal(plot_h) * b.revenue / max_revenue)
        label = b.first.isoformat() if b.first == b.last else f"{b.first.isoformat()} – {b.last.isoformat()}"
        title = (column_title or gettext(
            "%(when)s: %(sent)d mailed, %(clicked)d clicked, %(recovered)d recovered (%(revenue)s %(currency)s)"
        )) % {"when": label, "sent": b.sent, "clicked": b.clicked, "recovered": b.recovered,
             "revenue": format_money(b.revenue), "currency": currency}
        column = ChartColumn(
            bucket=b, x=round(x, 2), width=round(slot, 2), sent_x=round(x + slot * 0.1, 2),
            sent_y=round(top + plot_h - sent_h, 2), sent_h=round(sent_h, 2),
            clicked_x=round(x + slot * 0.1 + bar, 2), clicked_y=round(top + plot_h - clicked_h, 2),
            clicked_h=round(clicked_h, 2), revenue_x=round(x + slot / 2, 2), revenue_y=round(revenue_y, 2),
            title=title,
        )
        columns.append(column)
        points.append(f"{column.revenue_x},{column.revenue_y}")
    ticks = []
    if buckets:
        for i in sorted({0, len(buckets) // 2, len(buckets) - 1}):
            ticks.append((round(left + i * slot + slot / 2, 2), buckets[i].first.isoformat()))
    empty = not any(b.sent or b.clicked or b.recovered for b in buckets)
    return Chart(width, height, left, right, top, bottom, columns, max_count, max_revenue, unit, round(bar, 2),
                 ticks, " ".join(points), empty, max_count_label=format_count(max_count),
                 max_revenue_label=f"{format_count(max_revenue, 0)} {currency}".strip())
