"""Campaign discounts as a journey tool (phase Attract): health and, on the journey map, campaigns by channel."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oscar.core.loading import get_model

from ...core.registry import Health, Metric, OrderTouch, Tool, Touchpoint
from ...phases import Phase
from .lifecycle import live_campaigns
from .models import Channel
from .numbers import numbers_by_channel


def health():
    live = live_campaigns().count()
    if not live:
        return Health.idle(_("No campaign discount is live: create one and paste its link into an ad."))
    return Health.ok(ngettext("%(n)d campaign discount live.", "%(n)d campaign discounts live.", live) % {"n": live})


def metrics(start, end):
    rows = [Metric(_("Live campaigns"), live_campaigns().count())]
    discount = revenue = 0
    for numbers in numbers_by_channel(start, end):
        label = Channel(numbers.channel).label if numbers.channel in Channel.values else numbers.channel
        rows.append(Metric(_("%(channel)s: landings / orders") % {"channel": label},
                           f"{numbers.landings:,} / {numbers.orders:,}", "text"))
        discount += numbers.discount
        revenue += numbers.revenue
    if revenue or discount:
        rows += [Metric(_("Revenue with a campaign discount"), revenue, "money"),
                 Metric(_("Campaign discounts given"), discount, "money")]
    return rows


def touches(orders, start, end, since):
    """Campaign discounts on the order (the link's voucher, its shared code or one of its unique codes): the campaign
    counts even when the shopper typed the code without following the link."""
    from .models import Campaign

    OrderDiscount = get_model("order", "OrderDiscount")
    campaign_of_offer = dict(Campaign.objects.filter(offer_id__isnull=False).values_list("offer_id", "pk"))
    if not campaign_of_offer:
        return []
    discounts = OrderDiscount.objects.filter(order_id__in=orders.values("id"), offer_id__in=list(campaign_of_offer))
    return [OrderTouch(None, "voucher", order_id=order_id, ref=str(campaign_of_offer[offer_id]), label=str(amount))
            for order_id, offer_id, amount in discounts.values_list("order_id", "offer_id", "amount")]


TOOL = Tool(
    key="campaigns",
    name=_("Campaign discounts"),
    description=_("Discount links and codes for ads, mailings and influencers, with where each visitor came from."),
    phases=[Phase.ATTRACT],
    touchpoints=[Touchpoint.AD, Touchpoint.WEB],
    health=health,
    metrics=metrics,
    touches=touches,
    admin_url_name="admin:journey_campaign_changelist",
    order=5,
)


def register_all(registry):
    registry.register(TOOL)
