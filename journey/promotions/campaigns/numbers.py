"""What a campaign did: landings, baskets holding it, orders, discount, revenue; per campaign and per channel."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone
from oscar.core.loading import get_model

from ...core import events
from ...core.models import JourneyEvent
from ...core.reporting import money
from .models import Campaign

Basket = get_model("basket", "Basket")
Order = get_model("order", "Order")
OrderDiscount = get_model("order", "OrderDiscount")


@dataclass(frozen=True)
class CampaignNumbers:
    landings: int
    baskets: int
    orders: int
    discount: Decimal
    revenue: Decimal
    average_order: Decimal | None
    average_order_without: Decimal | None


def campaign_numbers(campaign: Campaign, now=None) -> CampaignNumbers:
    """Landings, baskets holding it, orders, discount given, revenue and average order value with vs. without it
    (orders of the same period that did not use it)."""
    now = now or timezone.now()
    landings = _landings(campaign)
    if not campaign.offer_id:
        return CampaignNumbers(landings, 0, 0, Decimal("0.00"), Decimal("0.00"), None, None)
    baskets = Basket.vouchers.through.objects.filter(voucher__offers=campaign.offer_id) \
        .exclude(basket__status=Basket.MERGED).values("basket_id").distinct().count()
    discounts = OrderDiscount.objects.filter(offer_id=campaign.offer_id)
    discount = discounts.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    with_it = Order.objects.filter(Q(discounts__offer_id=campaign.offer_id)).distinct()
    totals = Order.objects.filter(pk__in=with_it.values("pk")).aggregate(n=Count("pk"), revenue=Sum("total_incl_tax"),
                                                                          avg=Avg("total_incl_tax"))
    end = min(d for d in (campaign.ended_at, campaign.ends_at, now) if d)
    without = Order.objects.filter(date_placed__gte=campaign.starts_at, date_placed__lt=end) \
        .exclude(pk__in=with_it.values("pk")).aggregate(avg=Avg("total_incl_tax"))["avg"]
    return CampaignNumbers(
        landings=landings, baskets=baskets, orders=totals["n"], discount=discount,
        revenue=totals["revenue"] or Decimal("0.00"), average_order=money(totals["avg"]),
        average_order_without=money(without),
    )


def _landings(campaign):
    return JourneyEvent.objects.filter(kind=events.Kind.CAMPAIGN_LANDING, tool="campaigns",
                                       ref=str(campaign.pk)).count()


@dataclass(frozen=True)
class ChannelNumbers:
    channel: str
    landings: int
    orders: int
    discount: Decimal
    revenue: Decimal


def numbers_by_channel(start, end) -> list[ChannelNumbers]:
    """Landings, orders, discount and revenue of campaign discounts between ``start`` and ``end``, per channel
    (only channels with something to show, busiest first)."""
    campaigns = list(Campaign.objects.values_list("pk", "offer_id", "channel"))
    channel_of = {str(pk): channel for pk, _offer, channel in campaigns}
    channel_of_offer = {offer: channel for _pk, offer, channel in campaigns if offer}
    totals = {}

    def row(channel):
        return totals.setdefault(channel, [0, 0, Decimal("0.00"), Decimal("0.00")])

    landings = JourneyEvent.objects.filter(kind=events.Kind.CAMPAIGN_LANDING, tool="campaigns", created_at__gte=start,
                                           created_at__lt=end).values_list("ref").annotate(n=Count("id"))
    for ref, n in landings.values_list("ref", "n"):
        if ref in channel_of:
            row(channel_of[ref])[0] += n
    if channel_of_offer:
        discounts = OrderDiscount.objects.filter(offer_id__in=list(channel_of_offer), order__date_placed__gte=start,
                                                 order__date_placed__lt=end)
        for offer_id, orders, amount, revenue in discounts.values_list("offer_id").annotate(
                orders=Count("order_id", distinct=True), amount=Sum("amount"), revenue=Sum("order__total_incl_tax"),
        ).values_list("offer_id", "orders", "amount", "revenue"):
            numbers = row(channel_of_offer[offer_id])
            numbers[1] += orders
            numbers[2] += amount or 0
            numbers[3] += revenue or 0
    result = [ChannelNumbers(channel, *values) for channel, values in totals.items()]
    return sorted(result, key=lambda r: (-r.landings, -r.orders, r.channel))
