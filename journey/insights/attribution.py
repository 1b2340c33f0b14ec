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

from django.apps import apps
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from ..conf import journey_settings
from ..core.events import Kind
from ..core.reporting import percentage
from ..exceptions import AttributionError

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
    NONE: _("Without a journey tool"),
}


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
    from ..core.registry import registry
    from ..exceptions import UnknownTool

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


def _order_queryset(start, end, category, product):
    """(orders placed in ``[start, end)`` — of the scope, if any —, the scope's product ids or None)."""
    Order = get_model("order", "Order")
    Line = get_model("order", "Line")
    products = scoped_product_ids(category, product)
    orders = Order.objects.filter(date_placed__gte=start, date_placed__lt=end)
    if products is not None:
        orders = orders.filter(id__in=Line.objects.filter(order__in=orders, product_id__in=products)
                               .values("order_id"))
    return orders, products


def _order_rows(orders, products):
    """[(id, number, user_id, email, placed, revenue)] of ``orders`` (revenue: the scope's lines, if any)."""
    Line = get_model("order", "Line")
    fields = ("id", "number", "user_id", "guest_email", "date_placed")
    if products is None:
        return [(o["id"], o["number"], o["user_id"], (o["guest_email"] or "").lower(), o["date_placed"],
                 o["total_incl_tax"]) for o in orders.values(*fields, "total_incl_tax")]
    revenue = dict(Line.objects.filter(order__in=orders, product_id__in=products).values("order_id")
                   .annotate(revenue=Sum("line_price_incl_tax")).order_by().values_list("order_id", "revenue"))
    return [(o["id"], o["number"], o["user_id"], (o["guest_email"] or "").lower(), o["date_placed"],
             revenue.get(o["id"], ZERO)) for o in orders.values(*fields)]


def _totals(orders, products):
    Line = get_model("order", "Line")
    if products is None:
        agg = orders.aggregate(n=Count("id"), revenue=Sum("total_incl_tax"))
    else:
        agg = Line.objects.filter(order__in=orders, product_id__in=products).aggregate(
            n=Count("order_id", distinct=True), revenue=Sum("line_price_incl_tax"))
    return agg["n"], agg["revenue"] or ZERO


@dataclass
class _TouchIndex:
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


def _touch_index(queryset, start, end, lookback) -> _TouchIndex:
    """Every touch that may count for one of the orders of ``queryset``, from every source, by who it touched."""
    from ..core.models import JourneyEvent, Message, PersonalVoucher
    from ..recovery.models import BasketActivity
    from ..related.models import RelatedClick

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
    index = _TouchIndex(defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list), visitor_of)
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
    for user_id, at in RelatedClick.objects.filter(created_at__gte=since, created_at__lt=end,
                                                   user_id__in=user_ids).values_list("user_id", "created_at"):
        index.by_user[user_id].append(Touch("related", at, Kind.RELATED_CLICK))
    # Recovery's own attribution: a basket recovered by a clicked recovery mail.
    recovered = BasketActivity.objects.filter(
        state=BasketActivity.State.RECOVERED, ordered_at__gte=start - timedelta(days=1),
        ordered_at__lt=end + timedelta(days=1), order_number__in=queryset.values("number"))
    number_to_id = {}
    recovered_rows = list(recovered.values_list("order_number", "first_clicked_at", "ordered_at"))
    if recovered_rows:
        number_to_id = dict(queryset.filter(number__in=[r[0] for r in recovered_rows]).values_list("number", "id"))
    for number, clicked, ordered in recovered_rows:
        if number in number_to_id:
            index.on_order[number_to_id[number]].append(Touch("recovery", clicked or ordered, "recovered"))
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
    # Campaign discounts on the order (the link's voucher, its shared code or one of its unique codes): the
    # campaign counts even when the shopper typed the code without following the link.
    campaign_of_offer = dict(apps.get_model("journey", "Campaign").objects.filter(offer_id__isnull=False)
                             .values_list("offer_id", "pk"))
    if campaign_of_offer:
        for order_id, offer_id, amount in OrderDiscount.objects.filter(
                order_id__in=ids, offer_id__in=list(campaign_of_offer)).values_list("order_id", "offer_id", "amount"):
            index.on_order[order_id].append(
                Touch("campaigns", None, "voucher", str(campaign_of_offer[offer_id]), str(amount)))
    return index


def _pick(touches, placed, model):
    if not touches:
        return None
    if model == "last_touch":
        vouchers = [t for t in touches if t.kind == "voucher"]
        if vouchers:  # the voucher redeemed on the order itself wins
            best = max(vouchers, key=lambda t: (Decimal(t.label or 0), t.tool))
            # A campaign's discount: its link landing, when there was one, says more (UTM campaign).
            landings = [t for t in touches if t.kind == Kind.CAMPAIGN_LANDING and (t.tool, t.ref) == (best.tool,
                                                                                                       best.ref)]
            return max(landings, key=lambda t: t.at) if landings else best
        return max(touches, key=lambda t: (t.at, t.kind == "recovered", t.tool))
    return min(touches, key=lambda t: (t.at, t.kind != "recovered", t.tool))


def attribute_orders(start, end, model: str | None = None, *, category=None, product=None,
                     lookback_days: int | None = None, detail: bool = True) -> AttributionResult:
    """Attribute the orders placed in ``[start, end)`` (aware datetimes) to journey tools.

    ``detail=False`` lists in ``orders`` only the orders a tool touched and counts the rest with one aggregate query
    (what the journey map does: much faster over tens of thousands of orders).
    """
    model = model or journey_settings.ATTRIBUTION_MODEL
    if model not in MODELS:
        raise AttributionError(f"unknown attribution model {model!r}; use one of {', '.join(MODELS)}")
    if category is not None and product is not None:
        raise AttributionError("filter by a category or a product, not both")
    days = journey_settings.ATTRIBUTION_LOOKBACK_DAYS if lookback_days is None else lookback_days
    lookback = timedelta(days=int(days))
    queryset, products = _order_queryset(start, end, category, product)
    index = _touch_index(queryset, start, end, lookback)
    if detail:
        rows = _order_rows(queryset, products)
    else:  # only the orders a tool may have touched; the rest is one aggregate
        ids = set(index.on_order) | {o for o, v in index.visitor_of.items() if v in index.by_visitor}
        candidates = Q(id__in=ids) | Q(user_id__in=list(index.by_user))
        if index.by_email:
            candidates |= Q(user_id__isnull=True, guest_email_lower__in=list(index.by_email))
        rows = []
        if ids or index.by_user or index.by_email:
            rows = _order_rows(queryset.annotate(guest_email_lower=Lower("guest_email")).filter(candidates),
                               products)
            rows = [row for row in rows if index.touched(row[0], row[2], row[3])]
    result = AttributionResult(start, end, model, int(days))
    per_tool: dict[str, ToolRevenue] = {}
    campaigns: dict[str, ToolRevenue] = {}
    for order_id, number, user_id, email, placed, revenue in rows:
        found = index.touches(order_id, user_id, email, placed, lookback)
        touch = _pick(found, placed, model)
        attributed = OrderAttribution(order_id, number, placed, revenue or ZERO, touch, len(found))
        result.orders.append(attributed)
        row = per_tool.get(attributed.tool)
        if row is None:
            row = per_tool[attributed.tool] = ToolRevenue(attributed.tool, tool_label(attributed.tool))
        row.orders += 1
        row.revenue += attributed.revenue
        if touch and touch.tool == "campaigns":
            label = touch.label if touch.kind == Kind.CAMPAIGN_LANDING and touch.label else \
                gettext("Campaign %(ref)s") % {"ref": touch.ref or "?"}
            entry = campaigns.get(touch.ref) or campaigns.setdefault(touch.ref, ToolRevenue(touch.ref, label))
            entry.orders += 1
            entry.revenue += attributed.revenue
    result.total_orders, result.total_revenue = _totals(queryset, products)
    if not detail:
        none = per_tool.setdefault(NONE, ToolRevenue(NONE, tool_label(NONE)))
        none.orders = result.total_orders - sum(r.orders for r in per_tool.values() if r.tool != NONE)
        none.revenue = result.total_revenue - sum((r.revenue for r in per_tool.values() if r.tool != NONE), ZERO)
        if not none.orders:
            del per_tool[NONE]
    for row in [*per_tool.values(), *campaigns.values()]:
        row.share = percentage(row.revenue, result.total_revenue)
    result.per_tool = sorted(per_tool.values(), key=lambda r: (r.tool == NONE, -r.revenue, r.tool))
    result.campaigns = sorted(campaigns.values(), key=lambda r: (-r.revenue, r.tool))
    return result
