"""Campaign discounts as a journey tool (phase Attract): health and, on the journey map, campaigns by channel."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ...core.registry import Health, Metric, Tool, Touchpoint
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


TOOL = Tool(
    key="campaigns",
    name=_("Campaign discounts"),
    description=_("Discount links and codes for ads, mailings and influencers, with where each visitor came from."),
    phases=[Phase.ATTRACT],
    touchpoints=[Touchpoint.AD, Touchpoint.WEB],
    health=health,
    metrics=metrics,
    admin_url_name="admin:journey_campaign_changelist",
    order=5,
)


def register_all(registry):
    registry.register(TOOL)
