"""The journey map's numbers as CSV rows (journey.core.csv_export writes them)."""

from __future__ import annotations

from django.utils.translation import gettext

from ..attribution import MODELS
from .view import JourneyMap


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
