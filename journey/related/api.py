"""The public Python API of related products (documented in docs/related.md).

    related_products(product, kind=ListKind.BOUGHT_TOGETHER, limit=4, request=None) -> list[Product]
    related_for_basket(basket, limit=4, request=None) -> list[Product]

Both read the live build's lists with **one query**: the entries, the related products, their product class, their
first stock record, primary image and whether they have options all come from one SELECT (planned the same way
whatever the tables' statistics: see ``_first``), and the products are
handed out with Oscar's prefetch caches filled, so Oscar's own product card (``oscar/catalogue/partials/product.html``)
and its strategy render them without further queries.  What the shop's strategy says cannot be bought is dropped,
as are products that are not public, the product itself and (for a basket) what is already in it.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.core.cache import cache
from django.db.models import CharField, Exists, F, OuterRef, Subquery
from django.db.models.functions import Cast, JSONObject
from oscar.core.loading import get_class, get_model

from ..conf import journey_settings
from ..core.memo import ProcessMemo
from .models import ListKind, RelatedBuild, RelatedProduct

Product = get_model("catalogue", "Product")
ProductImage = get_model("catalogue", "ProductImage")
StockRecord = get_model("partner", "StockRecord")
Option = get_model("catalogue", "Option")
OrderLine = get_model("order", "Line")
Selector = get_class("partner.strategy", "Selector")

STOCK_FIELDS = ("id", "partner_id", "partner_sku", "price_currency", "price", "num_in_stock", "num_allocated",
                "low_stock_threshold")
OVERFETCH = 3  # fetch more than asked: some may turn out unavailable


def _first(queryset, *order):
    """``queryset``'s first row in ``order``, asked so that the planner always reads the related product's own rows
    through their ``product_id`` index and sorts those few: ordering by ``column + 0`` matches no index.  Ordered by
    the bare column, on stale statistics (a table bulk-loaded since the last ANALYZE) PostgreSQL walked the whole
    primary key looking for the product's first row -- 97 ms per list instead of 1.5 ms."""
    return queryset.order_by(*(F(name) + 0 for name in order))


def _entries(**filters):
    # Each related product's first stock record and first image: one correlated subquery each, returning the row's
    # columns as one JSON object (the price as text: exact); eight subqueries, one per column, cost eight lookups.
    stock = _first(StockRecord.objects.filter(product=OuterRef("related_id")), "id")
    stock_row = JSONObject(**{name: Cast(name, CharField()) if name == "price" else F(name) for name in STOCK_FIELDS})
    image = _first(ProductImage.objects.filter(product=OuterRef("related_id")), "display_order", "id")
    return (
        RelatedProduct.objects.filter(build__status=RelatedBuild.Status.LIVE, related__is_public=True, **filters)
        .select_related("related", "related__product_class", "related__parent", "related__parent__product_class")
        .annotate(
            stock_row=Subquery(stock.values(row=stock_row)[:1]),
            image_row=Subquery(image.values(row=JSONObject(id="id", original="original"))[:1]),
            has_class_options=Exists(Option.objects.filter(productclass=OuterRef("related__product_class_id"))),
            has_own_options=Exists(Option.objects.filter(product=OuterRef("related_id"))),
        )
    )


def _hydrate(entry):
    """The entry's Product with Oscar's prefetch caches filled from the annotations (no further queries)."""
    product = entry.related
    caches = getattr(product, "_prefetched_objects_cache", None) or {}
    records = []
    if entry.stock_row:
        row = dict(entry.stock_row)
        row["price"] = None if row.get("price") is None else Decimal(row["price"])
        records.append(StockRecord(product=product, **row))
    images = []
    if entry.image_row:
        images.append(ProductImage(id=entry.image_row["id"], product=product, original=entry.image_row["original"],
                                   display_order=0))
    caches.update(stockrecords=records, images=images)
    product._prefetched_objects_cache = caches
    product.has_product_class_options = entry.has_class_options
    product.has_product_options = entry.has_own_options
    product.journey_related = {"kind": entry.kind, "rank": entry.rank, "source": entry.source, "score": entry.score}
    return product


def _without_purchases(entries, user):
    """With JOURNEY["RELATED_EXCLUDE_PURCHASED"], leave out what a known customer already bought (same query)."""
    if not journey_settings.RELATED_EXCLUDE_PURCHASED or user is None or not user.is_authenticated:
        return entries
    bought = OrderLine.objects.filter(order__user_id=user.pk, product_id__isnull=False).values("product_id")
    return entries.exclude(related_id__in=Subquery(bought))


def _strategy(request=None, user=None):
    if request is not None and getattr(request, "strategy", None) is not None:
        return request.strategy
    return Selector().strategy(request=request, user=user)


def _available(products, strategy, limit):
    chosen = []
    for product in products:
        info = strategy.fetch_for_product(product)
        if info.availability.is_available_to_buy:
            chosen.append(product)
            if len(chosen) == limit:
                break
    return chosen


LIVE_BUILD_KEY = "journey:related:live-build"


_live_build = ProcessMemo()


def live_build_id():
    """The live build's id: from this process's memo (PROCESS_CACHE_SECONDS), the cache (set at each swap) or one
    query."""
    return _live_build.get(LIVE_BUILD_KEY, _shared_live_build_id) or None


def _shared_live_build_id():
    build_id = cache.get(LIVE_BUILD_KEY)
    if build_id is None:
        build_id = RelatedBuild.objects.filter(status=RelatedBuild.Status.LIVE).values_list("pk", flat=True).first()
        cache.set(LIVE_BUILD_KEY, build_id or 0, 60)
    return build_id


def forget_live_build():
    """After a swap in this process: read the live build again."""
    _live_build.clear()


def _cached(key_parts, compute):
    """The candidate products for a list, cached for RELATED_CACHE_SECONDS per live build (a rebuild changes the
    key).  What is cached is the product rows with their stock records; availability is still decided by the
    shop's strategy at each call, on stock figures at most RELATED_CACHE_SECONDS old."""
    seconds = journey_settings.RELATED_CACHE_SECONDS
    if not seconds:
        return compute()
    build_id = live_build_id()
    if build_id is None:
        return []
    key = "journey:related:" + ":".join(str(part) for part in (build_id, *key_parts))
    products = cache.get(key)
    if products is None:
        products = compute()
        cache.set(key, products, seconds)
    return products


def related_products(product, kind=ListKind.BOUGHT_TOGETHER, limit=4, *, request=None, user=None):
    """Up to ``limit`` products to show with ``product``, best first, all available to buy."""
    if product is None or not getattr(product, "pk", None) or limit <= 0:
        return []
    user = user or (request.user if request is not None else None)
    personal = journey_settings.RELATED_EXCLUDE_PURCHASED and user is not None and user.is_authenticated

    def compute():
        entries = _without_purchases(_entries(product_id=product.pk, kind=kind), user)
        entries = entries.exclude(related_id=product.pk).order_by("rank")
        return [_hydrate(e) for e in entries[: limit * OVERFETCH]]

    products = compute() if personal else _cached(("product", int(kind), product.pk, limit), compute)
    return _available(products, _strategy(request, user), limit)


def related_for_basket(basket, limit=4, *, request=None, user=None):
    """Up to ``limit`` complements for the whole basket (the basket cross-sell and the mails' "you may also like"):
    the bought-together lists of the basket's products, merged by score, without what is already in it."""
    if basket is None or not getattr(basket, "pk", None) or limit <= 0:
        return []
    in_basket = sorted({line.product_id for line in basket.all_lines() if line.product_id})
    if not in_basket:
        return []
    user = user or (basket.owner if basket.owner_id else None)
    personal = journey_settings.RELATED_EXCLUDE_PURCHASED and user is not None and user.is_authenticated

    def compute():
        entries = (
            _without_purchases(_entries(product_id__in=in_basket, kind=ListKind.BOUGHT_TOGETHER), user)
            .exclude(related_id__in=in_basket)
            .order_by(F("score").desc(nulls_last=True), "rank")[: limit * OVERFETCH * 3]
        )
        best = {}
        for entry in entries:
            # A product related to several lines of the basket collects their scores.
            if entry.related_id in best:
                best[entry.related_id][0] += entry.score
            else:
                best[entry.related_id] = [entry.score, entry]
        ranked = sorted(best.values(), key=lambda pair: (-pair[0], pair[1].rank))
        chosen = [_hydrate(entry) for _score, entry in ranked[: limit * OVERFETCH]]
        for position, product in enumerate(chosen, 1):
            product.journey_related = {**product.journey_related, "kind": ListKind.CROSS_SELL, "rank": position}
        return chosen

    digest = hashlib.blake2b(",".join(map(str, in_basket)).encode(), digest_size=12).hexdigest()
    products = compute() if personal else _cached(("basket", digest, limit), compute)
    strategy = getattr(basket, "strategy", None) or _strategy(request, user)
    return _available(products, strategy, limit)


def related_for_baskets(baskets, limit=4):
    """``related_for_basket`` for many baskets (the mails of a send batch): see related_for_product_lists."""
    wanted = {b.pk: [line.product_id for line in b.all_lines() if line.product_id] for b in baskets if b.pk}
    return related_for_product_lists(wanted, limit)


def related_for_product_lists(wanted, limit=4):
    """For each key of ``wanted`` (``{key: [product id, …]}``, e.g. a basket's products or the products a shopper
    looked at), up to ``limit`` available products bought together with them, without those products themselves:
    ``{key: [Product, …]}`` (the recovery and browse reminders of a send batch), in two queries in all: the lists'
    entries as plain values to rank each key's complements, then the chosen products, each loaded (and checked for
    availability) once for the whole batch."""
    wanted = {key: list(products) for key, products in wanted.items()}
    every = sorted({pk for products in wanted.values() for pk in products})
    if not every or limit <= 0:
        return {}
    rows = {}
    for entry_id, product_id, related_id, score, rank in (
            _entries(product_id__in=every, kind=ListKind.BOUGHT_TOGETHER).order_by("rank")
            .values_list("id", "product_id", "related_id", "score", "rank")):
        rows.setdefault(product_id, []).append((entry_id, related_id, score, rank))
    ranked_by_key, entry_for = {}, {}
    for key, products in wanted.items():
        best = {}
        for product_id in products:
            for entry_id, related_id, score, rank in rows.get(product_id, ())[: limit * OVERFETCH]:
                if related_id in products:
                    continue
                best[related_id] = (best.get(related_id, (0.0, rank))[0] + score, rank)
                entry_for.setdefault(related_id, entry_id)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[1][1]))[: limit * OVERFETCH]
        ranked_by_key[key] = [related_id for related_id, _total in ranked]
    needed = {related_id for ranked in ranked_by_key.values() for related_id in ranked}
    products = {entry.related_id: _hydrate(entry)
                for entry in _entries(pk__in=[entry_for[related_id] for related_id in needed])}
    strategy, available = _strategy(), {}

    def is_available(product):
        if product.pk not in available:
            available[product.pk] = strategy.fetch_for_product(product).availability.is_available_to_buy
        return available[product.pk]

    result = {}
    for key, ranked in ranked_by_key.items():
        chosen = [products[related_id] for related_id in ranked
                  if related_id in products and is_available(products[related_id])]
        result[key] = chosen[:limit]
    return result
