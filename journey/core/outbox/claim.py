"""Claiming due messages: rows taken under ``SELECT … FOR UPDATE SKIP LOCKED`` and marked ``sending`` at once."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import Message

State = Message.State


def claim_due(limit: int, *, now=None, only_ids=None, claimed_at=None) -> list[int]:
    """Mark up to ``limit`` due messages (due by ``now``) as sending and return their ids (skipping rows other
    workers hold).  The claim itself is stamped with the real time (or ``claimed_at``, taken just before): the
    sweeper and the batch task measure its age, and the stamp tells this claim from a later one of the same rows."""
    now = now or timezone.now()
    due = Message.objects.select_for_update(skip_locked=True).filter(state=State.SCHEDULED, due_at__lte=now)
    if only_ids is not None:
        due = due.filter(id__in=list(only_ids))
    with transaction.atomic():
        ids = list(due.order_by("due_at", "id").values_list("id", flat=True)[:limit])
        if ids:
            Message.objects.filter(id__in=ids).update(
                state=State.SENDING, claimed_at=claimed_at or timezone.now(), esp_call_started_at=None,
                attempts=F("attempts") + 1,
            )
    return ids
