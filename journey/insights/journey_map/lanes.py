"""The qualitative lanes of the journey map: notes and personas of a scope, and the funnel's candidate brakes."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext

from ...conf import journey_settings
from ...phases import Phase
from .view import Candidate, LaneCell, LaneRow


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
    from ..models import Lane

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
    from ..models import Lane, LaneNote, Persona

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
