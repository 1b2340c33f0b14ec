"""Orders into the measurement: each Oscar order placed within a person's window after their decision is added
to their assignment, the same way for treatment and control (the order's customer, its email, and the customers
with that email), once per order (``ExperimentOrder``)."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Sum
from oscar.core.loading import get_model

from .assign import person_key
from .models import Assignment, ExperimentOrder

logger = logging.getLogger("journey.core.experiments")
ZERO = Decimal("0.00")


def order_keys(user_id, email) -> set[str]:
    keys = {person_key(user_id=user_id)} if user_id else set()
    if email:
        keys.add(person_key(email=email))
        if not user_id:
            User = get_user_model()
            keys.update(person_key(user_id=pk) for pk in
                        User.objects.filter(email__iexact=email.strip()).values_list("pk", flat=True)[:5])
    keys.discard("")
    return keys


def record(*, order_id, placed_at, total, discount=ZERO, user_id=None, email="") -> int:
    """Add one order to the assignments it belongs to; returns how many were new (0 when recorded before)."""
    keys = order_keys(user_id, email)
    if not keys:
        return 0
    with transaction.atomic():
        # Locked, so the same order recorded twice at once is added once.
        ids = list(Assignment.objects.select_for_update()
                   .filter(person__in=keys, decided_at__lte=placed_at, window_ends_at__gt=placed_at)
                   .values_list("id", flat=True))
        if not ids:
            return 0
        done = set(ExperimentOrder.objects.filter(assignment_id__in=ids, order_id=order_id)
                   .values_list("assignment_id", flat=True))
        new = [i for i in ids if i not in done]
        if not new:
            return 0
        ExperimentOrder.objects.bulk_create(
            [ExperimentOrder(assignment_id=i, order_id=order_id, placed_at=placed_at) for i in new])
        Assignment.objects.filter(id__in=new).update(orders=F("orders") + 1, revenue=F("revenue") + total,
                                                     discount=F("discount") + discount)
    return len(new)


def record_order(order) -> int:
    """Record an Oscar order (its total and the voucher discounts on it)."""
    discount = order.discounts.filter(voucher_id__isnull=False).aggregate(s=Sum("amount"))["s"] or ZERO
    return record(order_id=order.pk, placed_at=order.date_placed, total=order.total_incl_tax, discount=discount,
                  user_id=order.user_id, email=order.email)


def record_order_id(order_id) -> int:
    Order = get_model("order", "Order")
    order = Order.objects.filter(pk=order_id).select_related("user").first()
    if order is None:
        return 0
    try:
        return record_order(order)
    except Exception:  # measurement must never break a checkout
        logger.exception("journey: recording order %s for the holdouts failed", order_id)
        return 0


def on_order_placed(sender, order=None, raw=False, **kwargs):
    if raw or order is None:
        return
    transaction.on_commit(lambda: record_order_id(order.pk))


def connect():
    from oscar.core.loading import get_class

    get_class("order.signals", "order_placed").connect(on_order_placed,
                                                       dispatch_uid="journey.core.experiments.order_placed")
