"""The Oscar objects behind a campaign, kept in step: offer, condition, benefit, range and vouchers (:func:`sync`).

A campaign is an ordinary VOUCHER-type ``ConditionalOffer`` with its ``Condition``, ``Benefit`` and ``Range``, the
multi-use voucher behind the link and the shared code, and one Oscar ``VoucherSet`` per batch of unique codes, so
Oscar's basket, checkout, dashboard and reports keep working.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from ...core.vouchers import all_products_range
from ..base import Status
from .codes import unused_code
from .models import Campaign, DiscountKind

ConditionalOffer = get_model("offer", "ConditionalOffer")
Condition = get_model("offer", "Condition")
Benefit = get_model("offer", "Benefit")
Range = get_model("offer", "Range")
Voucher = get_model("voucher", "Voucher")
VoucherSet = get_model("voucher", "VoucherSet")

FAR_FUTURE = datetime(2099, 12, 31, tzinfo=UTC)


def benefit_range(campaign: Campaign):
    """The Oscar range the discount applies to: the chosen range, a range of the chosen categories, or all."""
    if campaign.product_range_id:
        return campaign.product_range
    if campaign.pk:
        categories = list(campaign.categories.all())
        if categories:
            product_range = campaign.own_range or Range(name=unique_name(Range, f"journey campaign {campaign.slug}"))
            product_range.includes_all_products = False
            product_range.is_public = False
            product_range.save()
            product_range.included_categories.set(categories)
            campaign.own_range = product_range
            return product_range
    return all_products_range()


def range_matches_products(campaign: Campaign) -> bool:
    """Whether the campaign's products (range or categories) include at least one product."""
    if not campaign.product_range_id and not campaign.own_range_id and not campaign.categories.exists():
        return True
    product_range = campaign.product_range if campaign.product_range_id else campaign.own_range
    if product_range is None:
        return True
    return Range.objects.get(pk=product_range.pk).all_products().exists()




def unique_name(model, wanted, exclude_pk=None, max_length=128):
    name = wanted[:max_length]
    taken = model.objects.filter(name=name)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        suffix = f" ({secrets.token_hex(3)})"
        name = wanted[: max_length - len(suffix)] + suffix
    return name


def voucher_window(campaign: Campaign, now=None):
    """(start, end) for the campaign's vouchers: Oscar applies a voucher only inside its window."""
    now = now or timezone.now()
    status = campaign.status_at(now)
    if status == Status.DRAFT:
        past = now - timedelta(seconds=1)
        return past, past
    if status == Status.ENDED:
        end = min(d for d in (campaign.ended_at, campaign.ends_at) if d)
        return min(campaign.starts_at, end), end
    return campaign.starts_at, campaign.ends_at or FAR_FUTURE


@transaction.atomic
def sync(campaign: Campaign, now=None) -> Campaign:
    """Create or update the Oscar objects behind ``campaign`` (call after saving it and its categories)."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    target = benefit_range(campaign)
    min_basket = campaign.min_basket or Decimal("0")
    offer = campaign.offer
    condition = offer.condition if offer else Condition()
    condition.type = Condition.VALUE
    # A minimum basket value counts the whole basket; without one, the basket needs one discounted product.
    condition.range = all_products_range() if min_basket > 0 else target
    condition.value = max(min_basket, Decimal("0.01"))
    condition.save()
    benefit = offer.benefit if offer else Benefit()
    benefit.range = target
    benefit.type = Benefit.PERCENTAGE if campaign.discount_kind == DiscountKind.PERCENTAGE else Benefit.FIXED
    benefit.value = campaign.discount_value
    benefit.save()
    if offer is None:
        offer = ConditionalOffer(offer_type=ConditionalOffer.VOUCHER, condition=condition, benefit=benefit)
    offer.name = unique_name(ConditionalOffer, campaign.name, exclude_pk=offer.pk)
    offer.description = _("Campaign discount “%(name)s” (journey): %(discount)s off.") % {
        "name": campaign.name, "discount": discount_label(campaign)}
    offer.max_basket_applications = 1
    offer.max_global_applications = campaign.max_total_uses
    offer.max_user_applications = campaign.max_uses_per_customer
    start, end = voucher_window(campaign, now)
    offer.start_datetime, offer.end_datetime = start, (None if end == FAR_FUTURE else end)
    status = campaign.status_at(now)
    offer.status = ConditionalOffer.SUSPENDED if status in (Status.DRAFT, Status.ENDED) else ConditionalOffer.OPEN
    offer.save()  # Oscar marks it consumed when the global limit is used up

    voucher = campaign.voucher
    if voucher is None:
        voucher = Voucher(usage=Voucher.MULTI_USE)
    voucher.code = campaign.code or voucher.code or unused_code(slugify(campaign.slug).upper()[:10].strip("-"))
    voucher.name = unique_name(Voucher, campaign.name, exclude_pk=voucher.pk)
    voucher.start_datetime, voucher.end_datetime = start, end
    voucher.save()
    voucher.offers.set([offer])
    # Unique codes follow the campaign's window.
    sets = VoucherSet.objects.filter(journey_batch__campaign=campaign)
    sets.update(start_datetime=start, end_datetime=end)
    Voucher.objects.filter(voucher_set__in=sets).update(start_datetime=start, end_datetime=end)

    Campaign.objects.filter(pk=campaign.pk).update(offer=offer, voucher=voucher, own_range=campaign.own_range)
    campaign.offer, campaign.voucher = offer, voucher
    return campaign


def discount_label(campaign: Campaign) -> str:
    """"10 %" or "$5.00": the campaign's discount as shoppers read it."""
    value = campaign.discount_value.normalize()
    if campaign.discount_kind == DiscountKind.PERCENTAGE:
        return f"{value:f} %"
    from oscar.templatetags.currency_filters import currency

    return currency(campaign.discount_value)
