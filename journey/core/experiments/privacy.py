"""Erasure: a person's assignments are deleted, what they added to their period's numbers is kept as sums
(``ErasedTally``, per period, group and variant), so the reported totals do not change."""

from __future__ import annotations

from django.db.models import Q

from .assign import person_key
from .models import Assignment, ErasedTally


def _assignments(subject):
    keys = {person_key(user_id=u) for u in subject.user_ids} | {person_key(email=e) for e in subject.emails}
    keys |= {person_key(visitor=v) for v in subject.visitor_ids}
    keys.discard("")
    return Assignment.objects.filter(Q(person__in=keys) | Q(user_id__in=subject.user_ids))


def erase_assignments(subject, *, dry_run=False) -> int:
    rows = list(_assignments(subject).select_for_update())
    if dry_run:
        return len(rows)
    for row in rows:
        tally, _created = ErasedTally.objects.select_for_update().get_or_create(
            experiment_id=row.experiment_id, group=row.group, variant=row.variant)
        tally.people += 1
        tally.converted += 1 if row.orders else 0
        tally.orders += row.orders
        tally.revenue += row.revenue
        tally.revenue_sq += row.revenue * row.revenue
        tally.discount += row.discount
        tally.save()
    Assignment.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(rows)


def connect():
    from .. import privacy

    privacy.register_eraser("holdout assignments", erase_assignments, replace=True)
