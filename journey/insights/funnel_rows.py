"""The funnel rollup rows computed in Python: the portable twin of :data:`journey.insights.funnel.ROLLUP_SQL`.

PostgreSQL runs the SQL (one statement, fast over millions of events); every other database (SQLite, the embedded
default) runs this, which reads the period's events with the ORM and gives the same rows — the same visits, the same
store days (``astimezone`` in the store zone, DST included), the same masks.  ``tests/insights/test_funnel.py`` checks
the two against each other on PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from oscar.core.loading import get_model

from .models import FunnelScope

FUNNEL_KIND_NAMES = ("landing", "product_view", "basket_add", "checkout_start", "order_placed")


@dataclass
class _Visit:
    vkey: str
    day: object
    visitor_id: str = ""
    user_id: int | None = None
    first_at: object = None
    kinds: set = field(default_factory=set)
    repeat: bool = False
    landing: tuple | None = None  # (created_at, source, medium, campaign) of the first landing
    device: tuple | None = None  # (created_at, device) of the first event with a device


def _repeat_orders(order_ids) -> set:
    """The ids among ``order_ids`` of orders that are their customer's second or later (by user, or guest email)."""
    Order = get_model("order", "Order")
    orders = list(Order.objects.filter(id__in=order_ids).values_list("id", "user_id", "guest_email", "date_placed"))
    repeat = set()
    for order_id, user_id, email, placed in orders:
        if user_id is not None:
            earlier = Order.objects.filter(user_id=user_id, date_placed__lt=placed)
        elif email:
            earlier = Order.objects.filter(guest_email=email, date_placed__lt=placed)
        else:
            continue
        if earlier.exists():
            repeat.add(order_id)
    return repeat


def _carried_landing(visit: _Visit, carry):
    """The latest landing of the visit's visitor (or user) within ``carry`` before the visit began, if any."""
    from ..core.models import JourneyEvent

    who = Q(visitor_id=visit.visitor_id) if visit.visitor_id else Q(user_id=visit.user_id)
    return (JourneyEvent.objects.filter(who, kind="landing", created_at__lt=visit.first_at,
                                        created_at__gte=visit.first_at - carry)
            .order_by("-created_at").values_list("source", "medium", "campaign").first())


def _ancestors() -> dict[int, list[int]]:
    """{category id: [ids of the category and of every category whose path is a prefix of its path]}."""
    Category = get_model("catalogue", "Category")
    paths = dict(Category.objects.values_list("id", "path"))
    by_path = {path: pk for pk, path in paths.items()}
    return {pk: [by_path[path[:n]] for n in range(1, len(path) + 1) if path[:n] in by_path]
            for pk, path in paths.items()}


def rollup_rows(start, end, tz, carry) -> list[tuple]:
    """(day, scope, scope_id, source, medium, campaign, device, mask, visits) for the events of ``[start, end)``."""
    from ..core.models import JourneyEvent

    Product = get_model("catalogue", "Product")
    Line = get_model("order", "Line")
    events = list(
        JourneyEvent.objects.filter(created_at__gte=start, created_at__lt=end, kind__in=FUNNEL_KIND_NAMES)
        .filter(~Q(visitor_id="") | Q(user_id__isnull=False))
        .order_by("created_at", "id")
        .values_list("visitor_id", "user_id", "created_at", "kind", "device", "source", "medium", "campaign",
                     "product_id", "order_id")
    )
    order_ids = {e[9] for e in events if e[3] == "order_placed" and e[9] is not None}
    repeat_orders = _repeat_orders(order_ids) if order_ids else set()
    visits: dict[tuple, _Visit] = {}
    touched = defaultdict(lambda: [False, False, False])  # (vkey, day, product) -> viewed, added, ordered
    product_events = []
    for visitor_id, user_id, at, kind, device, source, medium, campaign, product_id, order_id in events:
        vkey = visitor_id if visitor_id else f"u{user_id}"
        day = at.astimezone(tz).date()
        visit = visits.get((vkey, day))
        if visit is None:
            visit = visits[(vkey, day)] = _Visit(vkey, day, first_at=at)
        visit.visitor_id = max(visit.visitor_id, visitor_id)
        if user_id is not None:
            visit.user_id = user_id if visit.user_id is None else max(visit.user_id, user_id)
        visit.kinds.add(kind)
        if kind == "landing" and visit.landing is None:
            visit.landing = (source, medium, campaign)
        if device and visit.device is None:
            visit.device = device
        if kind == "order_placed" and order_id in repeat_orders:
            visit.repeat = True
        if kind in ("product_view", "basket_add") and product_id is not None:
            product_events.append((vkey, day, product_id, 0 if kind == "product_view" else 1))
        elif kind == "order_placed" and order_id is not None:
            product_events.append((vkey, day, order_id, 2))
    # Products (a variant stands for its parent), and the products of each order.
    lines = defaultdict(list)
    for order_id, product_id in Line.objects.filter(order_id__in=order_ids, product_id__isnull=False).values_list(
            "order_id", "product_id"):
        lines[order_id].append(product_id)
    wanted = {p for _v, _d, p, bit in product_events if bit < 2} | {p for ps in lines.values() for p in ps}
    parent = {pk: parent_id or pk for pk, parent_id in
              Product.objects.filter(id__in=wanted).values_list("id", "parent_id")} if wanted else {}
    for vkey, day, ref, bit in product_events:
        for product_id in (lines.get(ref, []) if bit == 2 else [ref]):
            if product_id in parent:
                touched[(vkey, day, parent[product_id])][bit] = True
    # Masks of the visits (with carried landings), then the rows.
    shop = defaultdict(int)
    masks = {}
    for key, visit in visits.items():
        landed = "landing" in visit.kinds
        where = visit.landing if landed else None
        if not landed and (visit.visitor_id or visit.user_id is not None):
            where = _carried_landing(visit, carry)
        ordered = "order_placed" in visit.kinds
        mask = ((1 if where is not None else 0) + (2 if "product_view" in visit.kinds else 0)
                + (4 if "basket_add" in visit.kinds else 0) + (8 if "checkout_start" in visit.kinds else 0)
                + (16 if ordered else 0) + (32 if ordered and visit.repeat else 0))
        masks[key] = (mask, visit.repeat)
        source, medium, campaign = where or ("", "", "")
        shop[(visit.day, source or "", medium or "", campaign or "", visit.device or "", mask)] += 1
    rows = [(day, FunnelScope.SHOP.value, 0, source, medium, campaign, device, mask, n)
            for (day, source, medium, campaign, device, mask), n in shop.items()]
    categories_of = defaultdict(set)
    if touched:
        ProductCategory = Product.categories.through
        ancestors = _ancestors()
        for product_id, category_id in ProductCategory.objects.filter(
                product_id__in={p for _v, _d, p in touched}).values_list("product_id", "category_id"):
            categories_of[product_id].update(ancestors.get(category_id, []))
    per_category = defaultdict(lambda: [False, False, False])
    scoped = defaultdict(int)
    for (vkey, day, product_id), flags in touched.items():
        scoped[(day, FunnelScope.PRODUCT.value, product_id, _scoped_mask(masks[(vkey, day)], flags))] += 1
        for category_id in categories_of.get(product_id, ()):
            cell = per_category[(vkey, day, category_id)]
            for i in range(3):
                cell[i] = cell[i] or flags[i]
    for (vkey, day, category_id), flags in per_category.items():
        scoped[(day, FunnelScope.CATEGORY.value, category_id, _scoped_mask(masks[(vkey, day)], flags))] += 1
    rows += [(day, scope, scope_id, "", "", "", "", mask, n) for (day, scope, scope_id, mask), n in scoped.items()]
    return rows


def _scoped_mask(visit_mask, flags):
    (mask, repeat), (viewed, added, ordered) = visit_mask, flags
    return ((mask & 1) + (2 if viewed else 0) + (4 if added else 0) + (mask & 8) + (16 if ordered else 0)
            + (32 if ordered and repeat else 0))
