"""The numbers of a tool whose messages lead to orders without a voucher (browse reminders, price-drop alerts), by
its tool key: messages sent, opened, clicked in a period, and the orders of the people who clicked.

* **sent / opened / clicked** — the tool's outbox messages sent in ``[start, end)``, and how many of those were
  opened or clicked (at any time).
* **orders / revenue** — orders placed in ``[start, end)``, not cancelled or refunded
  (``JOURNEY["ORDER_CANCELLED_STATUSES"]``), by an account that clicked one of the tool's messages at most
  ``attribution_days`` before the order.  Revenue is their total including tax (Decimal).

Two queries; the second reads only the orders of accounts with a click in the window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from oscar.core.loading import get_model

from ...conf import journey_settings
from ..models import Message

ZERO = Decimal("0.00")


@dataclass
class MailNumbers:
    tool: str
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    orders: int = 0
    revenue: Decimal = ZERO


def _aware(value):
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def mail_numbers(tool: str, start: datetime, end: datetime, *, attribution_days: int) -> MailNumbers:
    numbers = MailNumbers(tool)
    agg = Message.objects.filter(tool=tool, sent_at__gte=start, sent_at__lt=end).aggregate(
        sent=Count("id"), opened=Count("id", filter=Q(opened_at__isnull=False)),
        clicked=Count("id", filter=Q(clicked_at__isnull=False)))
    numbers.sent, numbers.opened, numbers.clicked = (agg["sent"] or 0, agg["opened"] or 0, agg["clicked"] or 0)
    Order = get_model("order", "Order")
    statuses = sorted({str(s).strip().lower() for s in journey_settings.ORDER_CANCELLED_STATUSES})
    live = f"LOWER(o.status) NOT IN ({', '.join(['%s'] * len(statuses))})" if statuses else "1 = 1"
    ops = connection.ops
    window = timedelta(days=attribution_days)
    sql = f"""
        SELECT o.id, o.date_placed, o.total_incl_tax, MAX(m.clicked_at)
        FROM {Order._meta.db_table} o
        JOIN {Message._meta.db_table} m ON m.user_id = o.user_id AND m.tool = %s
             AND m.clicked_at IS NOT NULL AND m.clicked_at <= o.date_placed AND m.clicked_at >= %s
        WHERE o.date_placed >= %s AND o.date_placed < %s AND {live}
        GROUP BY o.id, o.date_placed, o.total_incl_tax"""  # noqa: S608 - table names are ours
    params = [tool, ops.adapt_datetimefield_value(start - window), ops.adapt_datetimefield_value(start),
              ops.adapt_datetimefield_value(end), *statuses]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for _id, placed, total, clicked in cursor.fetchall():
            if _aware(placed) - _aware(clicked) <= window:
                numbers.orders += 1
                numbers.revenue += Decimal(str(total or 0))
    return numbers
