"""Related products and cross-sell as a journey tool (phases Convince and Sell)."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from ..core.registry import Health, Metric, Tool, Touchpoint
from ..phases import Phase
from .models import ListKind, RelatedBuild, RelatedClick


def health():
    live = RelatedBuild.objects.filter(status=RelatedBuild.Status.LIVE).first()
    failed = RelatedBuild.objects.filter(status=RelatedBuild.Status.FAILED).order_by("-started_at").first()
    if live is None:
        if failed:
            return Health.error(_("The last rebuild failed: %(error)s") % {"error": failed.error[:200]})
        return Health.idle(_("No lists yet: run 'manage.py journey_rebuild_related' or wait for the nightly job."))
    when = date_format(timezone.localtime(live.finished_at or live.started_at), "DATETIME_FORMAT")
    summary = _("Lists for %(products)s products, rebuilt %(when)s in %(seconds).1f s.") % {
        "products": f"{live.products:,}", "when": when, "seconds": live.duration or 0}
    if failed and failed.started_at > live.started_at:
        return Health.warning(_("The last rebuild failed; the previous lists stay live. ") + summary)
    if live.started_at < timezone.now() - timedelta(days=2):
        return Health.warning(_("The lists are more than two days old. ") + summary)
    return Health.ok(summary)


def metrics(start, end):
    clicks = dict(
        RelatedClick.objects.filter(created_at__gte=start, created_at__lt=end)
        .values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
    )
    live = RelatedBuild.objects.filter(status=RelatedBuild.Status.LIVE).first()
    rows = [
        Metric(_("Clicks on “bought together”"), clicks.get(ListKind.BOUGHT_TOGETHER, 0)),
        Metric(_("Clicks on “complete your basket”"), clicks.get(ListKind.CROSS_SELL, 0)),
    ]
    if live:
        rows += [Metric(_("Last rebuild (s)"), live.duration or 0), Metric(_("List entries"), live.rows)]
    return rows


TOOL = Tool(
    key="related",
    name=_("Related products and cross-sell"),
    description=_("“Bought together” on product pages and “complete your basket” on the basket page, learnt from "
                  "the order history; also in recovery mails."),
    phases=[Phase.CONVINCE, Phase.SELL],
    touchpoints=[Touchpoint.WEB, Touchpoint.EMAIL],
    health=health,
    metrics=metrics,
    jobs=["rebuild_related_products"],
    admin_url_name="admin:journey_relatedbuild_changelist",
    order=20,
)


def register_all(registry):
    registry.register(TOOL)


def connect():
    """Wire the tool (JourneyConfig.ready() calls this when ``journey.related`` is in JOURNEY["TOOLS"])."""
    from . import tasks  # noqa: F401 - tasks register with Celery on import
