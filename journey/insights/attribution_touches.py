"""Attribution's touches: everything a journey tool did that a shopper acted on before an order, gathered for a
period's orders by customer, by guest address, by visitor and on the order itself — from journey's events, the
outbox, the vouchers, and each tool's ``touches`` hook in the registry."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.expressions import RawSQL
from oscar.core.loading import get_model

from ..core.events import Kind
from ..core.registry import registry

TOUCH_KINDS = (Kind.CAMPAIGN_LANDING, Kind.MAIL_CLICKED, Kind.RELATED_CLICK)


@dataclass(frozen=True)
class Touch:
    tool: str
    at: datetime
    kind: str  # landing | mail_clicked | related_click | recovered | voucher
    ref: str = ""
    label: str = ""


@dataclass
class TouchIndex:
    by_user: dict
    by_visitor: dict
    by_email: dict
    on_order: dict
    visitor_of: dict

    def touched(self, order_id, user_id, email):
        return bool(order_id in self.on_order or (user_id and user_id in self.by_user)
                    or (not user_id and email in self.by_email)
                    or self.visitor_of.get(order_id) in self.by_visitor)

    def touches(self, order_id, user_id, email, placed, lookback):
        window_start = placed - lookback
        candidates = set(self.by_user.get(user_id, []) if user_id else self.by_email.get(email, []))
        candidates |= set(self.by_visitor.get(self.visitor_of.get(order_id), []))
        touches = sorted((t for t in candidates if window_start <= t.at <= placed), key=lambda t: t.at)
        return touches + [Touch(t.tool, t.at or placed, t.kind, t.ref, t.label)
                          for t in self.on_order.get(order_id, [])]


def _any(column, values):
    """``column = ANY(%s)`` with one array parameter (Django's ``__in`` sends one parameter per value)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return ExpressionWrapper(Q(**{f"{column}__in": values}), output_field=BooleanField())
    # column is one of two literal names above, never input; the values go as a parameter.
    return RawSQL(f'"{column}" = ANY(%s)', (list(values),), output_field=BooleanField())  # noqa: S611


def touch_index(queryset, start, end, lookback) -> TouchIndex:
    """Every touch that may count for one of the orders of ``queryset``, from every source, by who it touched."""
    from ..core.models import JourneyEvent, Message, PersonalVoucher

    OrderDiscount = get_model("order", "OrderDiscount")
    # Subqueries, not lists: tens of thousands of ids in an IN list cost more to compile than to run.
    ids = queryset.values("id")
    user_ids = queryset.filter(user_id__isnull=False).values("user_id")
    guest_emails = queryset.filter(user_id__isnull=True).exclude(guest_email="").values("guest_email")
    since = start - lookback
    around = {"created_at__gte": start - timedelta(days=1), "created_at__lt": end + timedelta(days=1)}
    # The visitor of each order, from its order_placed event (written when the order is placed).
    visitor_of = dict(
        JourneyEvent.objects.filter(kind=Kind.ORDER_PLACED, order_id__in=ids, **around).exclude(visitor_id="")
        .values_list("order_id", "visitor_id")
    )
    visitors = set(visitor_of.values())
    index = TouchIndex(defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list), visitor_of)
    touches = JourneyEvent.objects.filter(kind__in=TOUCH_KINDS, created_at__gte=since, created_at__lt=end).exclude(
        tool="")
    columns = ("user_id", "visitor_id", "tool", "created_at", "kind", "ref", "campaign")
    # Two index lookups (by customer, by visitor) rather than one scan of the period's touches; the ids go as one
    # array parameter each.
    users = list(user_ids.values_list("user_id", flat=True).distinct())
    events = set()
    if users:
        events |= set(touches.alias(who=_any("user_id", users)).filter(who=True).values_list(*columns))
    if visitors:
        events |= set(touches.alias(who=_any("visitor_id", sorted(visitors))).filter(who=True)
                      .values_list(*columns))
    for user_id, visitor_id, tool, at, kind, ref, campaign in events:
        touch = Touch(tool, at, kind, ref, campaign)
        if user_id:
            index.by_user[user_id].append(touch)
        if visitor_id in visitors:
            index.by_visitor[visitor_id].append(touch)
    # Mails clicked, from the outbox (covers mails clicked before events were recorded).
    mails = Message.objects.filter(clicked_at__gte=since, clicked_at__lt=end).filter(
        Q(user_id__in=user_ids) | Q(user__isnull=True, to_email__in=guest_emails))
    for user_id, email, tool, at, pk in mails.values_list("user_id", "to_email", "tool", "clicked_at", "pk"):
        touch = Touch(tool, at, Kind.MAIL_CLICKED, str(pk))
        if user_id:
            index.by_user[user_id].append(touch)
        else:
            index.by_email[email.lower()].append(touch)
    # What each tool knows of its own touches (recovery: a recovered basket; related: clicks in its lists).
    for tool in registry.all():
        for found in tool.get_touches(queryset, start, end, since):
            touch = Touch(found.tool, found.at, found.kind, found.ref, found.label)
            if found.order_id is not None:
                index.on_order[found.order_id].append(touch)
            elif found.user_id:
                index.by_user[found.user_id].append(touch)
            elif found.email:
                index.by_email[found.email.lower()].append(touch)
    # Vouchers redeemed on the order itself: events, and discounts on journey's personal vouchers.
    for order_id, tool, at, ref, value in JourneyEvent.objects.filter(
            kind=Kind.VOUCHER_REDEEMED, order_id__in=ids, **around).exclude(tool="").values_list(
            "order_id", "tool", "created_at", "ref", "value"):
        index.on_order[order_id].append(Touch(tool, at, "voucher", ref, str(value or "")))
    journey_vouchers = PersonalVoucher.objects.filter(voucher_id__isnull=False)
    discounts = list(OrderDiscount.objects.filter(order_id__in=ids, voucher_id__in=journey_vouchers.values(
        "voucher_id")).values_list("order_id", "voucher_id", "voucher_code", "amount"))
    purposes = dict(journey_vouchers.filter(voucher_id__in={d[1] for d in discounts})
                    .values_list("voucher_id", "purpose")) if discounts else {}
    for order_id, voucher_id, code, amount in discounts:
        index.on_order[order_id].append(Touch(purposes[voucher_id], None, "voucher", code, str(amount)))
    return index
