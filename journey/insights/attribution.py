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
* a click in a related-products list (event ``related_click``, or the related tool's own clicks);
* a basket recovered by a recovery mail (recovery's own attribution);
* whatever else a tool declares with its ``touches`` hook in the registry (``journey.core.registry.OrderTouch``:
  the two above are the recovery and related tools' hooks);
* a personal or campaign voucher redeemed **on the order itself** (event ``voucher_redeemed`` with the order id, or
  the order's discount on a journey voucher: its program — recovery, birthday, post_purchase, winback, campaigns).

``last_touch``: the voucher redeemed on the order wins; otherwise the latest touch.  ``first_touch``: the earliest
touch in the window.  Orders without a touch are "no journey tool".  Revenue is the order total including tax (for a
category or product, the total of its lines in the order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Lower
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from ..conf import journey_settings
from ..core.events import Kind
from ..core.registry import registry
from ..core.reporting import percentage
from ..exceptions import AttributionError
from .attribution_touches import Touch, touch_index

MODELS = {"last_touch": _("Last touch"), "first_touch": _("First touch")}
NONE = "none"
ZERO = Decimal("0.00")
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
    index = touch_index(queryset, start, end, lookback)
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
