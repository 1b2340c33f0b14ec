"""Which journey tool brought each order: first-touch and last-touch attribution, revenue per tool.

Public API::

    from journey.insights.attribution import attribute_orders
    result = attribute_orders(start, end)                              # [start, end) datetimes; model: last touch
    result = attribute_orders(start, end, model="first_touch", category=category)
    result.per_tool     # [ToolRevenue(tool, label, orders, revenue, share)], "none" = no journey tool
    result.orders       # [OrderAttribution(order_id, number, placed_at, revenue, touch)]
    result.campaigns    # [ToolRevenue] for the "campaigns" tool, one per campaign (ref)

A **touch** is something a journey tool did that the shopper acted on, before the order, within
``ATTRIBUTION_LOOKBACK_DAYS`` (by the order's visitor — from its ``order_placed`` event — or by its customer):

* a landing from a tool's link (event ``landing`` with a tool, e.g. ``campaigns`` with the campaign's id as ref);
* a clicked mail (event ``mail_clicked``, or the outbox's own ``clicked_at``: recovery, birthday, post-purchase,
  win-back… by the message's tool);
* a click in a related-products list (event ``related_click``, or journey's ``RelatedClick`` rows);
* a basket recovered by a recovery mail (recovery's own attribution: ``BasketActivity`` in state recovered);
* a personal or campaign voucher redeemed **on the order itself** (event ``voucher_redeemed`` with the order id, or
  the order's discount on a journey voucher: its program — recovery, birthday, post_purchase, winback, campaigns).

``last_touch``: the voucher redeemed on the order wins; otherwise the latest touch.  ``first_touch``: the earliest
touch in the window.  Orders without a touch are "no journey tool".  Revenue is the order total including tax (for a
category or product, the total of its lines in the order).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from ..conf import journey_settings
from ..core.events import Kind
from ..exceptions import JourneyError
from .funnel import percentage

MODELS = {"last_touch": _("Last touch"), "first_touch": _("First touch")}
NONE = "none"
ZERO = Decimal("0.00")
TOUCH_KINDS = (Kind.CAMPAIGN_LANDING, Kind.MAIL_CLICKED, Kind.RELATED_CLICK)
# Labels of tools that may not be registered (yet) on the map; registered tools use their registry name.
TOOL_LABELS = {
    "campaigns": _("Campaign links"),
    "recovery": _("Abandoned-basket recovery"),
    "birthday": _("Birthday vouchers"),
    "post_purchase": _("Post-purchase vouchers"),
    "winback": _("Win-back vouchers"),
    "related": _("Related products"),
    NONE: _("No journey tool"),
}


class AttributionError(JourneyError, ValueError):
    """Bad attribution arguments."""


@dataclass(frozen=True)
class Touch:
    tool: str
    at: datetime
    kind: str  # landing | mail_clicked | related_click | recovered | voucher
    ref: str = ""
    label: str = ""


@dataclass
class OrderAttribution:
    order_id: int
    number: str
    placed_at: datetime
    revenue: Decimal
    touch: Touch | None
    touches: int = 0  # touches in the window

    @property
    def tool(self):
        return self.touch.tool if self.touch else NONE


@dataclass
class ToolRevenue:
    tool: str
    label: str
    orders: int = 0
    revenue: Decimal = ZERO
    share: Decimal | None = None  # % of the period's revenue


@dataclass
class AttributionResult:
    start: datetime
    end: datetime
    model: str
    lookback_days: int
    orders: list[OrderAttribution] = field(default_factory=list)
    per_tool: list[ToolRevenue] = field(default_factory=list)
    campaigns: list[ToolRevenue] = field(default_factory=list)
    total_orders: int = 0
    total_revenue: Decimal = ZERO

    def tool(self, key) -> ToolRevenue:
        return next((row for row in self.per_tool if row.tool == key), ToolRevenue(key, tool_label(key)))

    @property
    def attributed_revenue(self) -> Decimal:
        return sum((row.revenue for row in self.per_tool if row.tool != NONE), ZERO)


def tool_label(key: str) -> str:
    from ..exceptions import UnknownTool
    from ..registry import registry

    if key in TOOL_LABELS:
        return str(TOOL_LABELS[key])
    try:
        return str(registry.get(key).name)
    except UnknownTool:
        return key


def scoped_product_ids(category=None, product=None):
    """Ids of the products a category (with its subcategories) or a product stands for (variants included)."""
    Product = get_model("catalogue", "Product")
    Category = get_model("catalogue", "Category")
    if product is not None:
        pk = getattr(product, "pk", product)
        return Product.objects.filter(Q(pk=pk) | Q(parent_id=pk)).values("pk")
    if category is not None:
        category = category if isinstance(category, Category) else Category.objects.get(pk=category)
        tree = Category.objects.filter(path__startswith=category.path, depth__gte=category.depth)
        parents = Product.objects.filter(categories__in=tree).values("pk")
        return Product.objects.filter(Q(pk__in=parents) | Q(parent_id__in=parents)).values("pk")
    return None


def _orders(start, end, category, product):
    """[(id, number, user_id, email, placed, revenue)] of the orders placed in ``[start, end)``."""
    Order = get_model("order", "Order")
    Line = get_model("order", "Line")
    products = scoped_product_ids(category, product)
    orders = Order.objects.filter(date_placed__gte=start, date_placed__lt=end)
    if products is None:
        return [(o["id"], o["number"], o["user_id"], (o["guest_email"] or "").lower(), o["date_placed"],
                 o["total_incl_tax"])
                for o in orders.values("id", "number", "user_id", "guest_email", "date_placed", "total_incl_tax")]
    lines = (Line.objects.filter(order__in=orders, product_id__in=products).values("order_id")
             .annotate(revenue=Sum("line_price_incl_tax")).order_by())
    revenue = {row["order_id"]: row["revenue"] for row in lines}
    return [(o["id"], o["number"], o["user_id"], (o["guest_email"] or "").lower(), o["date_placed"],
             revenue[o["id"]])
            for o in orders.filter(id__in=list(revenue)).values("id", "number", "user_id", "guest_email",
                                                                 "date_placed")]


def _touches(orders, start, end, lookback):
    """{order_id: [Touch]} from every source, each touch within the order's window."""
    from ..core.models import JourneyEvent, Message, PersonalVoucher
    from ..recovery.models import BasketActivity
    from ..related.models import RelatedClick

    OrderDiscount = get_model("order", "OrderDiscount")
    ids = [o[0] for o in orders]
    users = {o[2] for o in orders if o[2]}
    emails = {o[3] for o in orders if not o[2] and o[3]}
    since = start - lookback
    # The visitor of each order, from its order_placed event (written when the order is placed).
    visitor_of = dict(
        JourneyEvent.objects.filter(kind=Kind.ORDER_PLACED, created_at__gte=start - timedelta(days=1),
                                    created_at__lt=end + timedelta(days=1), order_id__in=ids)
        .exclude(visitor_id="").values_list("order_id", "visitor_id")
    )
    visitors = set(visitor_of.values())

    by_user, by_visitor, by_email, on_order = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    if users or visitors:
        who = Q(user_id__in=users) | Q(visitor_id__in=visitors)
        events = (JourneyEvent.objects.filter(kind__in=TOUCH_KINDS, created_at__gte=since, created_at__lt=end)
                  .exclude(tool="").filter(who)
                  .values_list("user_id", "visitor_id", "tool", "created_at", "kind", "ref", "campaign"))
        for user_id, visitor_id, tool, at, kind, ref, campaign in events:
            touch = Touch(tool, at, kind, ref, campaign)
            if user_id in users:
                by_user[user_id].append(touch)
            if visitor_id in visitors:
                by_visitor[visitor_id].append(touch)
    # Mails clicked, from the outbox (covers mails clicked before events were recorded).
    if users or emails:
        mails = Message.objects.filter(clicked_at__gte=since, clicked_at__lt=end).filter(
            Q(user_id__in=users) | Q(user__isnull=True, to_email__in=emails))
        for user_id, email, tool, at, pk in mails.values_list("user_id", "to_email", "tool", "clicked_at", "pk"):
            touch = Touch(tool, at, Kind.MAIL_CLICKED, str(pk))
            if user_id:
                by_user[user_id].append(touch)
            else:
                by_email[email.lower()].append(touch)
    if users:
        for user_id, at in RelatedClick.objects.filter(created_at__gte=since, created_at__lt=end,
                                                       user_id__in=users).values_list("user_id", "created_at"):
            by_user[user_id].append(Touch("related", at, Kind.RELATED_CLICK))
    # Recovery's own attribution: a basket recovered by a clicked recovery mail.
    numbers = {o[1]: o[0] for o in orders}
    for number, clicked, ordered in BasketActivity.objects.filter(
            state=BasketActivity.State.RECOVERED, ordered_at__gte=start - timedelta(days=1),
            ordered_at__lt=end + timedelta(days=1)).values_list("order_number", "first_clicked_at", "ordered_at"):
        if number in numbers:
            on_order[numbers[number]].append(Touch("recovery", clicked or ordered, "recovered"))
    # Vouchers redeemed on the order itself: events, and discounts on journey's personal vouchers.
    for order_id, tool, at, ref, value in JourneyEvent.objects.filter(
            kind=Kind.VOUCHER_REDEEMED, created_at__gte=start - timedelta(days=1),
            created_at__lt=end + timedelta(days=1), order_id__in=ids).exclude(tool="").values_list(
            "order_id", "tool", "created_at", "ref", "value"):
        on_order[order_id].append(Touch(tool, at, "voucher", ref, str(value or "")))
    purposes = dict(PersonalVoucher.objects.filter(voucher_id__isnull=False).values_list("voucher_id", "purpose"))
    if purposes:
        for order_id, voucher_id, code, amount in OrderDiscount.objects.filter(
                order_id__in=ids, voucher_id__in=list(purposes)).values_list("order_id", "voucher_id",
                                                                              "voucher_code", "amount"):
            on_order[order_id].append(Touch(purposes[voucher_id], None, "voucher", code, str(amount)))

    result = {}
    for order_id, _number, user_id, email, placed, _revenue in orders:
        window_start = placed - lookback
        candidates = by_user.get(user_id, []) if user_id else by_email.get(email, [])
        candidates = set(candidates) | set(by_visitor.get(visitor_of.get(order_id), []))
        touches = sorted((t for t in candidates if window_start <= t.at <= placed), key=lambda t: t.at)
        touches += [Touch(t.tool, t.at or placed, t.kind, t.ref, t.label) for t in on_order.get(order_id, [])]
        result[order_id] = touches
    return result


def _pick(touches, placed, model):
    if not touches:
        return None
    if model == "last_touch":
        vouchers = [t for t in touches if t.kind == "voucher"]
        if vouchers:  # the voucher redeemed on the order itself wins
            return max(vouchers, key=lambda t: (Decimal(t.label or 0), t.tool))
        return max(touches, key=lambda t: (t.at, t.kind == "recovered", t.tool))
    return min(touches, key=lambda t: (t.at, t.kind != "recovered", t.tool))


def attribute_orders(start, end, model: str | None = None, *, category=None, product=None,
                     lookback_days: int | None = None) -> AttributionResult:
    """Attribute the orders placed in ``[start, end)`` (aware datetimes) to journey tools."""
    model = model or journey_settings.ATTRIBUTION_MODEL
    if model not in MODELS:
        raise AttributionError(f"unknown attribution model {model!r}; use one of {', '.join(MODELS)}")
    if category is not None and product is not None:
        raise AttributionError("filter by a category or a product, not both")
    days = journey_settings.ATTRIBUTION_LOOKBACK_DAYS if lookback_days is None else lookback_days
    lookback = timedelta(days=int(days))
    orders = _orders(start, end, category, product)
    touches = _touches(orders, start, end, lookback) if orders else {}
    result = AttributionResult(start, end, model, int(days))
    per_tool: dict[str, ToolRevenue] = {}
    campaigns: dict[str, ToolRevenue] = {}
    for order_id, number, _user, _email, placed, revenue in orders:
        found = touches.get(order_id, [])
        touch = _pick(found, placed, model)
        attributed = OrderAttribution(order_id, number, placed, revenue or ZERO, touch, len(found))
        result.orders.append(attributed)
        row = per_tool.setdefault(attributed.tool, ToolRevenue(attributed.tool, tool_label(attributed.tool)))
        row.orders += 1
        row.revenue += attributed.revenue
        if touch and touch.tool == "campaigns":
            label = touch.label if touch.kind == Kind.CAMPAIGN_LANDING and touch.label else \
                gettext("Campaign %(ref)s") % {"ref": touch.ref or "?"}
            entry = campaigns.setdefault(touch.ref, ToolRevenue(touch.ref, label))
            entry.orders += 1
            entry.revenue += attributed.revenue
    result.total_orders = len(result.orders)
    result.total_revenue = sum((o.revenue for o in result.orders), ZERO)
    for row in [*per_tool.values(), *campaigns.values()]:
        row.share = percentage(row.revenue, result.total_revenue)
    result.per_tool = sorted(per_tool.values(), key=lambda r: (r.tool == NONE, -r.revenue, r.tool))
    result.campaigns = sorted(campaigns.values(), key=lambda r: (-r.revenue, r.tool))
    return result
