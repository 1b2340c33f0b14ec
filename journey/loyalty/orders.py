"""Which orders count for the Retain programs and their numbers: not cancelled nor refunded
(``JOURNEY["ORDER_CANCELLED_STATUSES"]``, the shop's own status names, compared case-insensitively)."""

from django.db.models.functions import Lower
from oscar.core.loading import get_model

from ..conf import journey_settings

Order = get_model("order", "Order")


def cancelled_statuses() -> list[str]:
    """``JOURNEY["ORDER_CANCELLED_STATUSES"]``, lower-cased."""
    return sorted({str(status).strip().lower() for status in journey_settings.ORDER_CANCELLED_STATUSES})


def is_cancelled(status) -> bool:
    return str(status or "").strip().lower() in cancelled_statuses()


def live_orders(queryset=None):
    """Orders that count (not cancelled nor refunded)."""
    queryset = Order.objects.all() if queryset is None else queryset
    statuses = cancelled_statuses()
    if not statuses:
        return queryset
    return queryset.annotate(journey_status=Lower("status")).exclude(journey_status__in=statuses)
