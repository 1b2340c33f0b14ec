"""The journey map as view models: phase columns with their tool cards, lanes, candidate brakes, the whole map."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils.translation import gettext

from ...core.registry import Health, Metric, Status, Tool
from ...core.reporting import charts
from ...phases import Phase


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
    # Holdouts: per measured tool, attributed against incremental revenue (journey.insights.incrementality).
    incrementality: list = field(default_factory=list)
    incrementality_chart: object = None

    @property
    def breakdown_label(self):
        from ..funnel import BREAKDOWNS

        return BREAKDOWNS.get(self.breakdown_by, "")

    @property
    def scope_label(self):
        if self.product is not None:
            return gettext("Product: %(name)s") % {"name": self.product.get_title()}
        if self.category is not None:
            return gettext("Category: %(name)s") % {"name": self.category.full_name}
        return gettext("Whole shop")
