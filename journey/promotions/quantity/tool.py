"""Quantity promotions as a journey tool (phases Convince and Sell): health and the tiers at work on the map."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ...core.registry import Health, Metric, Tool, Touchpoint
from ...phases import Phase
from .models import QuantityPromotion
from .numbers import numbers as quantity_numbers


def health():
    live = QuantityPromotion.objects.filter(is_draft=False, archived=False, ended_at__isnull=True,
                                            starts_at__lte=timezone.now())
    live = [p for p in live if p.is_live()]
    if not live:
        return Health.idle(_("No quantity promotion is live: add one with tiers or “buy X, pay Y”."))
    return Health.ok(ngettext("%(n)d quantity promotion live.", "%(n)d quantity promotions live.", len(live))
                     % {"n": len(live)})


def metrics(start, end):
    promotions = list(QuantityPromotion.objects.exclude(offer_ids=[]).prefetch_related("tiers"))
    offer_ids = sorted({pk for p in promotions for pk in p.offer_ids})
    numbers = quantity_numbers(offer_ids, start, end)
    rows = [
        Metric(_("Orders with a quantity deal"), numbers.orders),
        Metric(_("Discount given"), numbers.discount, "money"),
        Metric(_("Revenue of those orders"), numbers.revenue, "money"),
    ]
    if numbers.average_with is not None:
        rows.append(Metric(_("Average order with a deal"), numbers.average_with, "money"))
    if numbers.average_without is not None:
        rows.append(Metric(_("Average order without"), numbers.average_without, "money"))
    for promotion in promotions:  # the tiers at work: orders per tier, best first
        for tier in sorted(promotion.tiers.all(), key=lambda t: -t.min_quantity):
            used = numbers.by_offer.get(tier.offer_id, 0)
            if used:
                rows.append(Metric(f"{promotion.name} · {tier}", used))
    return rows


TOOL = Tool(
    key="quantity",
    name=_("Quantity promotions"),
    description=_("“2+ items 10 % off, 3+ items 15 % off” and “buy 3, pay 2” on Oscar's offers, with "
                  "“add 1 more” hints on product and basket pages."),
    phases=[Phase.CONVINCE, Phase.SELL],
    touchpoints=[Touchpoint.WEB],
    health=health,
    metrics=metrics,
    admin_url_name="admin:journey_quantitypromotion_changelist",
    order=30,
)


def register_all(registry):
    registry.register(TOOL)
