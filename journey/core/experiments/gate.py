"""The outbox's holdout gate: a person in a tool's control group gets no mail from it.

Registered as send gate ``holdout`` (order 10: before the frequency cap, so a held-out person never uses a slot of
the cap).  Only marketing messages of a measured kind (not one the person asked for, such as "email me my basket")
of a tool whose open period has a share above 0 are decided; the decision (treatment or control) is recorded for
both groups, with its time — the start of the person's conversion window.  Queries per batch: one for the open
periods, three per measured tool (journey.core.experiments.assign.decide)."""

from __future__ import annotations

from django.utils import timezone

from ..models import Message
from ..outbox.gates import Hold
from ..outbox.kinds import get_kind
from . import assign

REASON = "holdout: in the control group of %s since %s"


def holdout_gate(messages: list[Message]) -> dict:
    measured = [m for m in messages if m.marketing and _measured(m.kind)]
    if not measured:
        return {}
    now = timezone.now()
    periods = {key: e for key, e in assign.current({m.tool for m in measured}, now).items()
               if e.holdout_share > 0 and e.surface == "mail"}
    verdicts = {}
    for key, experiment in periods.items():
        mine = [m for m in measured if m.tool == key]
        people = {m.pk: assign.person(user_id=m.user_id, email=m.to_email) for m in mine}
        groups = assign.decide(experiment, list(people.values()), now)
        for m in mine:
            if groups.get(people[m.pk].key) == assign.Group.CONTROL:
                verdicts[m.pk] = Hold(Message.State.HELD_OUT, REASON % (key, experiment.started_at.date()))
    return verdicts


def _measured(kind_key) -> bool:
    try:
        return get_kind(kind_key).measured
    except KeyError:
        return False


def connect():
    from ..outbox.gates import register_gate

    register_gate("holdout", holdout_gate, order=10)
