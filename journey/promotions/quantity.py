"""Quantity promotions: "2+ items 10 % off, 3+ items 15 % off" and "buy 3, pay 2" — as ordinary Oscar site offers.

Models
    ``QuantityPromotion`` (a :class:`~journey.promotions.base.PromotionBase`) on an Oscar ``Range`` or on
    categories (journey then keeps a private range for them), with ``QuantityTier`` rows for tiered discounts.

What Oscar sees (created and updated by :func:`sync_offers`, never by hand)
    *Tiers*: one SITE ``ConditionalOffer`` per tier — Oscar's own ``CountCondition`` (N items from the range) and
    ``PercentageDiscountBenefit``.  The tiers' offers are *exclusive*, the higher tier with the higher priority:
    Oscar applies the best tier reached to every item of the range and the lower tiers then find no item left,
    so tiers never stack.  *Buy X, pay Y*: one offer with a ``CountCondition`` of X and journey's
    ``BuyXPayYBenefit`` (Oscar's ``MultibuyDiscountBenefit`` frees one item per basket line only): the cheapest
    X − Y of every X items are free.  Basket, checkout, order discounts, the dashboard and Oscar's reports work
    as for any offer.  Ending or archiving a promotion suspends its offers; a promotion whose offers were used in
    an order cannot be deleted (archive it).

Hints
    :func:`hints_for_product` / :func:`hints_for_basket` say "Add 1 more for 15 % off" from a per-process copy of
    the live promotions (their tiers and the product ids of their ranges), refreshed when a promotion is saved
    (a version key in Django's cache: one cache read per page, no database query) or after
    ``JOURNEY["QUANTITY_HINT_CACHE_SECONDS"]``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Avg, Count, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oscar.core.loading import get_class, get_model

from ..conf import journey_settings
from ..core.memo import ProcessMemo
from ..exceptions import JourneyError
from ..phases import Phase, PhaseField
from .base import PromotionBase, Status

logger = logging.getLogger(__name__)

Benefit = get_model("offer", "Benefit")
BasketDiscount, ZERO_DISCOUNT = get_class("offer.results", "BasketDiscount"), get_class("offer.results",
                                                                                        "ZERO_DISCOUNT")
apply_discount = get_class("offer.benefits", "apply_discount")

TOOL_KEY = "quantity"
VERSION_KEY = "journey:quantity:version"


class PromotionInUse(JourneyError):
    """The promotion's offers were used in orders: it can be ended or archived, not deleted."""


# Models ---------------------------------------------------------------------------------------------------------

class QuantityPromotion(PromotionBase):
    """A quantity deal on a range or on categories: discount tiers, or buy X pay Y."""

    class Kind(models.TextChoices):
        TIERS = "tiers", _("Quantity tiers (% off from N items)")
        BUY_X_PAY_Y = "buy_x_pay_y", _("Buy X, pay Y (the cheapest free)")

    DEFAULT_PHASES = {Kind.TIERS: Phase.SELL, Kind.BUY_X_PAY_Y: Phase.CONVINCE}

    phase = PhaseField(blank=True, help_text=_("Leave empty for the usual phase of this kind of promotion."))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.TIERS)
    product_range = models.ForeignKey(
        "offer.Range", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("product range"), help_text=_("An Oscar range, or choose categories below."))
    categories = models.ManyToManyField("catalogue.Category", blank=True, related_name="+",
                                        verbose_name=_("categories"))
    buy_quantity = models.PositiveSmallIntegerField(
        _("buy"), null=True, blank=True, validators=[MinValueValidator(2), MaxValueValidator(100)],
        help_text=_("Buy X, pay Y: the number of items in each group (X)."))
    pay_quantity = models.PositiveSmallIntegerField(
        _("pay"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text=_("Buy X, pay Y: the number of items paid for in each group (Y)."))
    priority = models.IntegerField(_("priority"), default=0,
                                   help_text=_("Oscar applies offers with a higher priority first."))
    # What journey made in Oscar: a private range for categories, and every offer it ever created (for numbers).
    own_range = models.ForeignKey("offer.Range", null=True, blank=True, editable=False, on_delete=models.SET_NULL,
                                  related_name="+")
    offer_ids = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        verbose_name = _("quantity promotion")
        verbose_name_plural = _("quantity promotions")
        ordering = ["-created_at"]

    def save(self, *args, **kwargs):
        if not self.phase:
            self.phase = self.DEFAULT_PHASES[self.Kind(self.kind)]
        super().save(*args, **kwargs)

    @property
    def oscar_range(self):
        return self.product_range or self.own_range

    def describe(self) -> str:
        if self.kind == self.Kind.BUY_X_PAY_Y:
            return str(_("Buy %(buy)s, pay %(pay)s") % {"buy": self.buy_quantity, "pay": self.pay_quantity})
        return "; ".join(str(tier) for tier in self.tiers.all())


class QuantityTier(models.Model):
    promotion = models.ForeignKey(QuantityPromotion, on_delete=models.CASCADE, related_name="tiers")
    min_quantity = models.PositiveSmallIntegerField(
        _("from items"), validators=[MinValueValidator(2), MaxValueValidator(1000)])
    percentage = models.DecimalField(
        _("% off"), max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))])
    offer = models.ForeignKey("offer.ConditionalOffer", null=True, blank=True, editable=False,
                              on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["min_quantity"]
        constraints = [models.UniqueConstraint(fields=["promotion", "min_quantity"], name="journey_qtier_once")]

    def __str__(self):
        return str(_("%(count)s+ items: %(percent)s %% off") % {"count": self.min_quantity,
                                                                "percent": percent(self.percentage)})


class BuyXPayYBenefit(Benefit):
    """Oscar benefit "buy X, pay Y": of every X items from the range, the cheapest X − Y are free.

    X is the offer's count condition, Y this benefit's value.  Unlike Oscar's multibuy benefit, several items of
    one basket line can be free (3 of the same cheese, buy 3 pay 2: one is free; 6: two are)."""

    class Meta:
        proxy = True
        app_label = "journey"
        verbose_name = _("Buy X, pay Y benefit")

    @property
    def name(self):
        return _("Pay %(pay)s of every group of items from %(range)s; the cheapest are free") % {
            "pay": int(self.value or 0), "range": self.range.name if self.range else ""}

    @property
    def description(self):
        return self.name

    def apply(self, basket, condition, offer, **kwargs):
        group, pay = int(condition.value), int(self.value)
        if group <= pay or pay < 0:
            return ZERO_DISCOUNT
        units = []
        for price, line in self.get_applicable_lines(offer, basket):
            units.extend([(price, line)] * line.quantity_without_offer_discount(offer))
        groups = len(units) // group
        if not groups:
            return ZERO_DISCOUNT
        units.sort(key=lambda unit: unit[0])
        free_count = groups * (group - pay)
        free = defaultdict(lambda: [0, Decimal("0.00")])
        for price, line in units[:free_count]:
            free[line][0] += 1
            free[line][1] += price
        total = Decimal("0.00")
        for line, (quantity, amount) in free.items():
            apply_discount(line, amount, quantity, offer)
            total += amount
        # The paid items of the full groups are used up too (the most expensive ones: the shopper's best deal).
        to_consume = groups * pay
        for _price, line in reversed(units[free_count:]):
            if to_consume <= 0:
                break
            to_consume -= line.consume(1, offer=offer)
        return BasketDiscount(self.round(total, basket.currency))


# Services -------------------------------------------------------------------------------------------------------

def percent(value) -> str:
    """10.00 -> "10", 12.50 -> "12.5" (localised decimal separator)."""
    return formats.number_format(Decimal(value).normalize())


def _models():
    return (get_model("offer", "ConditionalOffer"), get_model("offer", "Condition"), get_model("offer", "Range"))


def tier_errors(kind, tiers) -> list:
    """What is wrong with ``tiers`` [(count, percent)] for a promotion of ``kind`` (empty when nothing)."""
    if kind == QuantityPromotion.Kind.BUY_X_PAY_Y:
        return [_("Tiers are for tiered promotions; remove them or change the kind.")] if tiers else []
    if not tiers:
        return [_("Add at least one tier (for example 2+ items: 10 % off).")]
    errors = []
    for count, pct in tiers:
        if count is None or pct is None:
            continue
        if not (Decimal("0") < Decimal(pct) <= Decimal("100")):
            errors.append(_("A percentage must be more than 0 and at most 100."))
        if count < 2:
            errors.append(_("A tier starts at 2 items or more."))
    ordered = sorted(tiers)
    for (count_a, pct_a), (count_b, pct_b) in zip(ordered, ordered[1:], strict=False):
        if count_b == count_a:
            errors.append(_("Two tiers start at %(count)s items.") % {"count": count_a})
        elif pct_b <= pct_a:
            errors.append(_("Each tier must give more than the one before: %(count)s+ items gives %(percent)s %% "
                            "off, no more than fewer items.") % {"count": count_b, "percent": percent(pct_b)})
    return errors


def promotion_errors(promotion) -> dict:
    """Field -> message for what is wrong with the promotion's own fields (not its tiers)."""
    errors = {}
    if promotion.ends_at and promotion.starts_at and promotion.ends_at <= promotion.starts_at:
        errors["ends_at"] = _("The end must be after the start.")
    if promotion.kind == QuantityPromotion.Kind.BUY_X_PAY_Y:
        buy, pay = promotion.buy_quantity, promotion.pay_quantity
        if not buy or not pay:
            errors["buy_quantity"] = _("Enter how many items to buy (X) and how many are paid for (Y).")
        elif pay >= buy:
            errors["pay_quantity"] = _("Y must be less than X: “buy 3, pay 2”.")
    return errors


def validate(promotion, tiers) -> None:
    """Raise ValidationError when the promotion and its ``tiers`` [(count, percent)] make no sense.  The admin
    form runs the same checks; :func:`sync_offers` calls it before touching Oscar's tables."""
    errors = promotion_errors(promotion)
    tier_problems = tier_errors(promotion.kind, tiers)
    if tier_problems:
        errors["kind"] = tier_problems
    if errors:
        raise ValidationError(errors)


def matching_products(promotion_range, categories=()) -> int:
    """How many public products the range (or the categories) holds: 0 deserves a warning."""
    Product = get_model("catalogue", "Product")
    if promotion_range is not None:
        if promotion_range.includes_all_products:
            return Product.objects.filter(is_public=True).count()
        return promotion_range.all_products().filter(is_public=True).count()
    if categories:
        Category = get_model("catalogue", "Category")
        ids = set()
        for category in categories:
            ids.update(Category.get_tree(category).values_list("pk", flat=True))
        return Product.objects.filter(is_public=True, categories__in=ids).distinct().count()
    return 0


def _own_range(promotion):
    ConditionalOffer, Condition, Range = _models()
    product_range = promotion.own_range
    if product_range is None:
        product_range = Range.objects.create(name=f"journey quantity #{promotion.pk}", is_public=False)
        promotion.own_range = product_range
        QuantityPromotion.objects.filter(pk=promotion.pk).update(own_range=product_range)
    product_range.included_categories.set(promotion.categories.all())
    product_range.invalidate_cached_queryset()
    return product_range


def _unique_offer_name(base, current=None):
    ConditionalOffer = _models()[0]
    name, n = base[:128], 1
    while ConditionalOffer.objects.filter(name=name).exclude(pk=getattr(current, "pk", None)).exists():
        n += 1
        suffix = f" ({n})"
        name = base[:128 - len(suffix)] + suffix
    return name


def _upsert_offer(promotion, offer, *, name, count, benefit_type, benefit_value, proxy_class, priority,
                  product_range, status):
    ConditionalOffer, Condition, _Range = _models()
    fields = {"start_datetime": promotion.starts_at, "end_datetime": promotion.ends_at, "status": status,
              "priority": priority, "exclusive": True, "offer_type": ConditionalOffer.SITE}
    if offer is None:
        condition = Condition.objects.create(range=product_range, type=Condition.COUNT, value=count)
        benefit = Benefit.objects.create(range=product_range, type=benefit_type, value=benefit_value,
                                         proxy_class=proxy_class)
        offer = ConditionalOffer.objects.create(
            name=_unique_offer_name(name), condition=condition, benefit=benefit,
            description=str(_("Quantity promotion “%(name)s” (journey).") % {"name": promotion.name}), **fields)
        return offer
    Condition.objects.filter(pk=offer.condition_id).update(range=product_range, type=Condition.COUNT, value=count,
                                                           proxy_class=None)
    Benefit.objects.filter(pk=offer.benefit_id).update(range=product_range, type=benefit_type,
                                                       value=benefit_value, proxy_class=proxy_class)
    for key, value in fields.items():
        setattr(offer, key, value)
    offer.name = _unique_offer_name(name, offer)
    offer.save()
    return offer


def oscar_status(promotion, now=None):
    ConditionalOffer = _models()[0]
    status = promotion.status_at(now)
    if promotion.archived or status in (Status.DRAFT, Status.ENDED):
        return ConditionalOffer.SUSPENDED
    return ConditionalOffer.OPEN


@transaction.atomic
def sync_offers(promotion) -> list:
    """Create or update the Oscar offers of ``promotion`` from its current fields and tiers; returns them.

    Call after the promotion, its categories and its tiers are saved (the admin does).  Offers of tiers that
    were removed, or of the other kind, are suspended, not deleted: past orders still point at them."""
    ConditionalOffer = _models()[0]
    given, promotion = promotion, QuantityPromotion.objects.select_for_update().get(pk=promotion.pk)
    tiers = list(promotion.tiers.select_related("offer"))
    validate(promotion, [(t.min_quantity, t.percentage) for t in tiers])
    product_range = promotion.product_range or _own_range(promotion)
    status = oscar_status(promotion)
    live = []
    if promotion.kind == QuantityPromotion.Kind.TIERS:
        for rank, tier in enumerate(tiers, start=1):
            offer = _upsert_offer(
                promotion, tier.offer,
                name=str(_("%(name)s: %(count)s+ items, %(percent)s %% off") % {
                    "name": promotion.name, "count": tier.min_quantity, "percent": percent(tier.percentage)}),
                count=tier.min_quantity, benefit_type=Benefit.PERCENTAGE, benefit_value=tier.percentage,
                proxy_class=None, priority=promotion.priority + rank, product_range=product_range, status=status)
            if tier.offer_id != offer.pk:
                QuantityTier.objects.filter(pk=tier.pk).update(offer=offer)
            live.append(offer)
    else:
        existing = ConditionalOffer.objects.filter(pk__in=promotion.offer_ids,
                                                   benefit__proxy_class=BUY_X_PAY_Y_CLASS).first()
        live.append(_upsert_offer(
            promotion, existing,
            name=str(_("%(name)s: buy %(buy)s, pay %(pay)s") % {
                "name": promotion.name, "buy": promotion.buy_quantity, "pay": promotion.pay_quantity}),
            count=promotion.buy_quantity, benefit_type="", benefit_value=promotion.pay_quantity,
            proxy_class=BUY_X_PAY_Y_CLASS, priority=promotion.priority + 1, product_range=product_range,
            status=status))
    live_ids = [offer.pk for offer in live]
    ConditionalOffer.objects.filter(pk__in=promotion.offer_ids).exclude(pk__in=live_ids).update(
        status=ConditionalOffer.SUSPENDED)
    all_ids = sorted(set(promotion.offer_ids) | set(live_ids))
    QuantityPromotion.objects.filter(pk=promotion.pk).update(offer_ids=all_ids)
    given.offer_ids, given.own_range_id = all_ids, promotion.own_range_id
    transaction.on_commit(bump_version)
    return live


BUY_X_PAY_Y_CLASS = f"{BuyXPayYBenefit.__module__}.{BuyXPayYBenefit.__name__}"


def end(promotion, now=None):
    """End the promotion now: its offers are suspended (Oscar stops applying them)."""
    QuantityPromotion.objects.filter(pk=promotion.pk, ended_at__isnull=True).update(ended_at=now or timezone.now())
    promotion.refresh_from_db()
    return sync_offers(promotion)


def archive(promotion, now=None):
    """Archive (and end) the promotion: hidden from the default admin list, its numbers kept."""
    QuantityPromotion.objects.filter(pk=promotion.pk).update(archived=True)
    QuantityPromotion.objects.filter(pk=promotion.pk, ended_at__isnull=True).update(ended_at=now or timezone.now())
    promotion.refresh_from_db()
    return sync_offers(promotion)


def has_redemptions(promotion) -> bool:
    OrderDiscount = get_model("order", "OrderDiscount")
    return bool(promotion.offer_ids) and OrderDiscount.objects.filter(offer_id__in=promotion.offer_ids).exists()


@transaction.atomic
def delete(promotion):
    """Delete a promotion never used in an order, with the Oscar objects journey made for it."""
    if has_redemptions(promotion):
        raise PromotionInUse(_("“%(name)s” was used in orders: end or archive it instead of deleting it, so "
                               "its numbers stay.") % {"name": promotion.name})
    ConditionalOffer, Condition, Range = _models()
    offers = list(ConditionalOffer.objects.filter(pk__in=promotion.offer_ids))
    own_range_id = promotion.own_range_id
    promotion.delete()
    for offer in offers:
        condition_id, benefit_id = offer.condition_id, offer.benefit_id
        offer.delete()
        Condition.objects.filter(pk=condition_id).delete()
        Benefit.objects.filter(pk=benefit_id).delete()
    if own_range_id:
        Range.objects.filter(pk=own_range_id).delete()
    transaction.on_commit(bump_version)


# Numbers --------------------------------------------------------------------------------------------------------

@dataclass
class Numbers:
    orders: int = 0
    discount: Decimal = Decimal("0.00")
    revenue: Decimal = Decimal("0.00")
    average_with: Decimal | None = None
    average_without: Decimal | None = None
    by_offer: dict = field(default_factory=dict)  # offer id -> orders


def numbers(offer_ids, start: datetime | None = None, end: datetime | None = None) -> Numbers:
    """Orders that got a discount from ``offer_ids`` (Oscar's OrderDiscount rows), the discount given, their
    revenue, and the average order value with vs. without it, for orders placed in [start, end)."""
    Order = get_model("order", "Order")
    OrderDiscount = get_model("order", "OrderDiscount")
    result = Numbers()
    orders = Order.objects.all()
    if start:
        orders = orders.filter(date_placed__gte=start)
    if end:
        orders = orders.filter(date_placed__lt=end)
    if not offer_ids:
        return result
    discounts = OrderDiscount.objects.filter(offer_id__in=offer_ids, order__in=orders)
    result.discount = discounts.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    result.by_offer = dict(discounts.values_list("offer_id").annotate(n=Count("order_id", distinct=True)))
    with_it = orders.filter(pk__in=discounts.values("order_id"))
    agg = with_it.aggregate(n=Count("pk"), revenue=Sum("total_incl_tax"), avg=Avg("total_incl_tax"))
    result.orders, result.revenue = agg["n"], agg["revenue"] or Decimal("0.00")
    result.average_with = _money(agg["avg"])
    result.average_without = _money(orders.exclude(pk__in=discounts.values("order_id")).aggregate(
        avg=Avg("total_incl_tax"))["avg"])
    return result


def _money(value):
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def promotion_numbers(promotion, start=None, end=None) -> Numbers:
    return numbers(promotion.offer_ids, start, end)


# Upsell hints ---------------------------------------------------------------------------------------------------

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
