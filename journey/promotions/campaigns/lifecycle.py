"""A campaign's life: create it, end it, archive it, delete it while nobody has used it, the live ones.

    from journey.promotions.campaigns import lifecycle
    campaign = lifecycle.create_campaign(name="Summer", slug="summer", kind="percentage", value=10,
                                         channel="facebook")
    lifecycle.end_campaign(campaign)              # suspends the offer, ends the vouchers
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from ...exceptions import HasRedemptions
from .models import UTM_KEYS, Campaign, DiscountKind, normalise_code
from .offers import sync

Voucher = get_model("voucher", "Voucher")
VoucherSet = get_model("voucher", "VoucherSet")
VoucherApplication = get_model("voucher", "VoucherApplication")
Basket = get_model("basket", "Basket")
OrderDiscount = get_model("order", "OrderDiscount")


def create_campaign(*, name, slug=None, kind=DiscountKind.PERCENTAGE, value, min_basket=None, product_range=None,
                    categories=(), starts_at=None, ends_at=None, max_total_uses=None, max_uses_per_customer=None,
                    channel="other", utm=None, code="", landing_path="/", publish=True, phase=None) -> Campaign:
    """Create a campaign discount and its Oscar offer and voucher.  Raises ``ValidationError`` on bad terms."""
    utm = utm or {}
    campaign = Campaign(
        name=name, slug=slug or slugify(name)[:64], discount_kind=kind, discount_value=Decimal(str(value)),
        min_basket=Decimal(str(min_basket)) if min_basket not in (None, "") else None, product_range=product_range,
        starts_at=starts_at or timezone.now(), ends_at=ends_at, max_total_uses=max_total_uses,
        max_uses_per_customer=max_uses_per_customer, channel=channel, code=normalise_code(code),
        landing_path=landing_path, is_draft=not publish,
        **{key: utm.get(key, "") for key in UTM_KEYS},
    )
    if phase:
        campaign.phase = phase
    campaign.full_clean()
    with transaction.atomic():
        campaign.save()
        if categories:
            campaign.categories.set(categories)
        return sync(campaign)


def end_campaign(campaign: Campaign, now=None) -> Campaign:
    """End it now: Oscar's offer is suspended and its vouchers stop working (baskets holding them lose it)."""
    now = now or timezone.now()
    Campaign.objects.filter(pk=campaign.pk, ended_at__isnull=True).update(ended_at=now)
    campaign.refresh_from_db()
    return sync(campaign, now)


def archive_campaign(campaign: Campaign, now=None) -> Campaign:
    """End it and hide it from the default list; its numbers and Oscar's order history stay."""
    campaign = end_campaign(campaign, now)
    Campaign.objects.filter(pk=campaign.pk).update(archived=True)
    campaign.archived = True
    return campaign


def redemptions(campaign: Campaign) -> int:
    """Orders that used the campaign (its offer, or any of its vouchers)."""
    orders = set()
    if campaign.offer_id:
        orders.update(OrderDiscount.objects.filter(offer_id=campaign.offer_id).values_list("order_id", flat=True))
        orders.update(VoucherApplication.objects.filter(voucher__offers=campaign.offer_id)
                      .values_list("order_id", flat=True))
    return len(orders)


@transaction.atomic
def delete_campaign(campaign: Campaign):
    """Delete a campaign that was never used, with its Oscar objects.  Raises :class:`HasRedemptions` otherwise."""
    if redemptions(campaign):
        raise HasRedemptions(_("“%(name)s” has been used on orders, so it cannot be deleted: end and archive it "
                               "instead (its orders keep their discount).") % {"name": campaign.name})
    offer, own_range = campaign.offer, campaign.own_range
    sets = list(VoucherSet.objects.filter(journey_batch__campaign=campaign).values_list("pk", flat=True))
    _delete_unused_set_vouchers(sets)
    VoucherSet.objects.filter(pk__in=sets).delete()
    if campaign.voucher_id:
        Voucher.objects.filter(pk=campaign.voucher_id).delete()
    campaign.delete()
    if offer is not None:
        condition, benefit = offer.condition, offer.benefit
        offer.delete()
        condition.delete()
        benefit.delete()
    if own_range is not None:
        own_range.delete()


def _delete_unused_set_vouchers(set_ids):
    """Delete the (never redeemed) vouchers of these voucher sets with set-based statements: Django's collector
    would load 100,000 vouchers to cascade by hand."""
    if not set_ids:
        return
    in_sets = Voucher.objects.filter(voucher_set_id__in=set_ids)
    Voucher.offers.through.objects.filter(voucher__in=in_sets).delete()  # no dependants: one DELETE each
    Basket.vouchers.through.objects.filter(voucher__in=in_sets).delete()
    for relation in Voucher._meta.related_objects:  # anything else pointing at them (a host's models, journey's)
        if relation.many_to_many or relation.related_model in (Voucher.offers.through, Basket.vouchers.through):
            continue
        manager = relation.related_model._base_manager
        if relation.on_delete is models.SET_NULL:
            manager.filter(**{f"{relation.field.name}__in": in_sets}).update(**{relation.field.name: None})
        else:
            manager.filter(**{f"{relation.field.name}__in": in_sets}).delete()
    in_sets._raw_delete(in_sets.db)


def live_campaigns(now=None):
    """Campaigns whose discount applies now."""
    now = now or timezone.now()
    return Campaign.objects.filter(is_draft=False, archived=False, ended_at__isnull=True, starts_at__lte=now) \
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
