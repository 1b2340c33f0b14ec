"""The journey map: the four phases, each with its tools, their health and their numbers for a period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from ..jobs import stale_jobs
from ..phases import Phase
from ..registry import Health, Metric, Status, Tool, registry

PERIODS = {
    "7": (_("Last 7 days"), 7),
    "30": (_("Last 30 days"), 30),
    "90": (_("Last 90 days"), 90),
    "365": (_("Last 12 months"), 365),
    "all": (_("All time"), None),
}
DEFAULT_PERIOD = "30"


@dataclass
class ToolCard:
    tool: Tool
    health: Health
    metrics: list[Metric]
    admin_url: str | None


@dataclass
class PhaseColumn:
    phase: Phase
    cards: list[ToolCard] = field(default_factory=list)

    @property
    def status(self) -> Status:
        statuses = [card.health.status for card in self.cards] or [Status.IDLE]
        return max(statuses, key=lambda s: Status(s).severity)


@dataclass
class JourneyMap:
    start: datetime
    end: datetime
    period: str
    columns: list[PhaseColumn]
    scheduler: Health
    headline: list[Metric]


def period_bounds(period: str, now=None):
    """(start, end) of a preset period; unknown keys fall back to the default."""
    now = now or timezone.now()
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    days = PERIODS[period][1]
    if days is None:
        return period, datetime(2000, 1, 1, tzinfo=timezone.get_current_timezone()), now
    return period, now - timedelta(days=days), now


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


def build_journey_map(period: str = DEFAULT_PERIOD, now=None) -> JourneyMap:
    period, start, end = period_bounds(period, now)
    cards = {}
    columns = []
    for phase, tools in registry.by_phase().items():
        column = PhaseColumn(phase)
        for tool in tools:
            if tool.key not in cards:  # a tool in two phases is measured once
                cards[tool.key] = ToolCard(tool, tool.check_health(), tool.get_metrics(start, end), _admin_url(tool))
            column.cards.append(cards[tool.key])
        columns.append(column)
    return JourneyMap(
        start=start,
        end=end,
        period=period,
        columns=columns,
        scheduler=scheduler_health(),
        headline=headline_metrics(start, end),
    )


def currency():
    return getattr(settings, "OSCAR_DEFAULT_CURRENCY", "")
