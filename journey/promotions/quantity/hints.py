"""Upsell hints: "Add 1 more for 15 % off" on product and basket pages.

:func:`hints_for_product` / :func:`hints_for_basket` work from a per-process copy of the live promotions (their tiers
and the product ids of their ranges), refreshed when a promotion is saved (a version key in Django's cache: one cache
read per page, no database query) or after ``JOURNEY["QUANTITY_HINT_CACHE_SECONDS"]``.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oscar.core.loading import get_model

from ...conf import journey_settings
from ...core.memo import ProcessMemo
from ...core.reporting import percent
from .models import QuantityPromotion

VERSION_KEY = "journey:quantity:version"


@dataclass(frozen=True)
class LivePromotion:
    pk: int
    name: str
    kind: str
    starts_at: datetime
    ends_at: datetime | None
    tiers: tuple  # ((count, percentage), ...) ascending
    buy: int | None
    pay: int | None
    all_products: bool
    product_ids: frozenset

    def contains(self, product) -> bool:
        return self.all_products or product.pk in self.product_ids or (
            getattr(product, "parent_id", None) in self.product_ids)

    def is_live(self, now) -> bool:
        return self.starts_at <= now and (self.ends_at is None or self.ends_at > now)


@dataclass(frozen=True)
class Hint:
    promotion: LivePromotion
    message: str
    reached: bool = False  # the basket already gets the best this promotion gives
    needed: int = 0        # items to add for the next step
    percentage: Decimal | None = None


_live = {"version": None, "loaded_at": 0.0, "items": ()}
_live_lock = threading.Lock()


def bump_version():
    """Tell every process to reload the live promotions (after a save, an end, a delete)."""
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)
    _version.clear()


def _load():
    Product = get_model("catalogue", "Product")
    items = []
    promotions = QuantityPromotion.objects.filter(is_draft=False, archived=False, ended_at__isnull=True).exclude(
        ends_at__lte=timezone.now()).select_related("product_range", "own_range").prefetch_related("tiers")
    for promotion in promotions:
        product_range = promotion.oscar_range
        if product_range is None:
            continue
        all_products = product_range.includes_all_products and not (
            product_range.excluded_products.exists() or product_range.excluded_categories.exists())
        ids = frozenset() if all_products else frozenset(
            product_range.all_products().values_list("pk", flat=True).iterator())
        if ids and not all_products:  # variants of a listed parent count too
            ids = ids | frozenset(Product.objects.filter(parent_id__in=ids).values_list("pk", flat=True))
        items.append(LivePromotion(
            pk=promotion.pk, name=promotion.name, kind=promotion.kind, starts_at=promotion.starts_at,
            ends_at=promotion.ends_at, tiers=tuple((t.min_quantity, t.percentage) for t in promotion.tiers.all()),
            buy=promotion.buy_quantity, pay=promotion.pay_quantity, all_products=all_products, product_ids=ids))
    return tuple(items)


_version = ProcessMemo()


def _shared_version():
    version = cache.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(VERSION_KEY, version, None):
            version = cache.get(VERSION_KEY) or version
    return version


def live_promotions(now=None) -> tuple:
    """The live quantity promotions, from this process's copy (one cache read; reloaded when stale)."""
    version = _version.get(VERSION_KEY, _shared_version)
    ttl = journey_settings.QUANTITY_HINT_CACHE_SECONDS
    if _live["version"] != version or time.monotonic() - _live["loaded_at"] > ttl:
        with _live_lock:
            if _live["version"] != version or time.monotonic() - _live["loaded_at"] > ttl:
                _live.update(items=_load(), version=version, loaded_at=time.monotonic())
    now = now or timezone.now()
    return tuple(p for p in _live["items"] if p.is_live(now))


def _count(basket, promotion) -> int:
    if basket is None or not getattr(basket, "pk", None):
        return 0
    return sum(line.quantity for line in basket.all_lines() if promotion.contains(line.product))


def hint(promotion: LivePromotion, count: int) -> Hint:
    """What to tell a shopper who has ``count`` items of the promotion's range in the basket."""
    if promotion.kind == QuantityPromotion.Kind.BUY_X_PAY_Y:
        buy, pay = promotion.buy, promotion.pay
        needed = buy - count % buy
        if count == 0:
            message = _("Buy %(buy)d, pay %(pay)d") % {"buy": buy, "pay": pay}
        else:
            message = ngettext("Add %(count)d more and pay %(pay)d for %(buy)d",
                               "Add %(count)d more and pay %(pay)d for %(buy)d", needed) % {
                "count": needed, "pay": pay, "buy": buy}
        return Hint(promotion, str(message), needed=needed)
    reached = [tier for tier in promotion.tiers if tier[0] <= count]
    upcoming = [tier for tier in promotion.tiers if tier[0] > count]
    if not upcoming:
        best = reached[-1][1]
        return Hint(promotion, str(_("%(percent)s %% off applied") % {"percent": percent(best)}), reached=True,
                    percentage=best)
    next_count, next_percent = upcoming[0]
    needed = next_count - count
    if count == 0:
        message = ngettext("Buy %(count)d for %(percent)s %% off", "Buy %(count)d or more for %(percent)s %% off",
                           needed) % {"count": needed, "percent": percent(next_percent)}
    else:
        message = ngettext("Add %(count)d more for %(percent)s %% off", "Add %(count)d more for %(percent)s %% off",
                           needed) % {"count": needed, "percent": percent(next_percent)}
    return Hint(promotion, str(message), needed=needed, percentage=next_percent)


def hints_for_product(product, basket=None, now=None) -> list[Hint]:
    """Hints for a product page: one per live promotion the product is in, counting what the basket holds."""
    if product is None or not getattr(product, "pk", None):
        return []
    return [hint(p, _count(basket, p)) for p in live_promotions(now) if p.contains(product)]


def hints_for_basket(basket, now=None) -> list[Hint]:
    """Hints for the basket page: one per live promotion with at least one item in the basket."""
    hints = []
    for promotion in live_promotions(now):
        count = _count(basket, promotion)
        if count:
            hints.append(hint(promotion, count))
    return hints
