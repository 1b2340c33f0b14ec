"""What Oscar sees of a quantity promotion, created and updated by :func:`sync_offers` (never by hand).

*Tiers*: one SITE ``ConditionalOffer`` per tier — Oscar's own ``CountCondition`` (N items from the range) and
``PercentageDiscountBenefit``.  The tiers' offers are *exclusive*, the higher tier with the higher priority: Oscar
applies the best tier reached to every item of the range and the lower tiers then find no item left, so tiers never
stack.  *Buy X, pay Y*: one offer with a ``CountCondition`` of X and journey's ``BuyXPayYBenefit`` (Oscar's
``MultibuyDiscountBenefit`` frees one item per basket line only).  Ending or archiving a promotion suspends its
offers; a promotion whose offers were used in an order cannot be deleted (archive it).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from ...core.reporting import percent
from ...exceptions import PromotionInUse
from ..base import Status
from .benefits import BUY_X_PAY_Y_CLASS
from .hints import bump_version
from .models import QuantityPromotion, QuantityTier
from .validation import validate

ConditionalOffer = get_model("offer", "ConditionalOffer")
Condition = get_model("offer", "Condition")
Benefit = get_model("offer", "Benefit")
Range = get_model("offer", "Range")
OrderDiscount = get_model("order", "OrderDiscount")


def _own_range(promotion):
    product_range = promotion.own_range
    if product_range is None:
        product_range = Range.objects.create(name=f"journey quantity #{promotion.pk}", is_public=False)
        promotion.own_range = product_range
        QuantityPromotion.objects.filter(pk=promotion.pk).update(own_range=product_range)
    product_range.included_categories.set(promotion.categories.all())
    product_range.invalidate_cached_queryset()
    return product_range


def _unique_offer_name(base, current=None):
    name, n = base[:128], 1
    while ConditionalOffer.objects.filter(name=name).exclude(pk=getattr(current, "pk", None)).exists():
        n += 1
        suffix = f" ({n})"
        name = base[:128 - len(suffix)] + suffix
    return name


def _upsert_offer(promotion, offer, *, name, count, benefit_type, benefit_value, proxy_class, priority,
                  product_range, status):
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
    status = promotion.status_at(now)
    if promotion.archived or status in (Status.DRAFT, Status.ENDED):
        return ConditionalOffer.SUSPENDED
    return ConditionalOffer.OPEN


@transaction.atomic
def sync_offers(promotion) -> list:
    """Create or update the Oscar offers of ``promotion`` from its current fields and tiers; returns them.

    Call after the promotion, its categories and its tiers are saved (the admin does).  Offers of tiers that
    were removed, or of the other kind, are suspended, not deleted: past orders still point at them."""
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
    return bool(promotion.offer_ids) and OrderDiscount.objects.filter(offer_id__in=promotion.offer_ids).exists()


@transaction.atomic
def delete(promotion):
    """Delete a promotion never used in an order, with the Oscar objects journey made for it."""
    if has_redemptions(promotion):
        raise PromotionInUse(_("“%(name)s” was used in orders: end or archive it instead of deleting it, so "
                               "its numbers stay.") % {"name": promotion.name})
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
