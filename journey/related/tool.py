"""Related products and cross-sell as a journey tool (phases Convince and Sell)."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from ..core.events import Kind
from ..core.registry import Health, Metric, OrderTouch, Tool, Touchpoint
from ..core.reporting.series import per_day
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


def series(start, end, products=None):
    """Clicks in the lists per store day."""
    return per_day(RelatedClick.objects.filter(created_at__gte=start, created_at__lt=end), "created_at")


def touches(orders, start, end, since):
    """A signed-in customer's clicks in the lists before the order (anonymous clicks are journey events)."""
    clicks = RelatedClick.objects.filter(created_at__gte=since, created_at__lt=end,
                                         user_id__in=orders.filter(user_id__isnull=False).values("user_id"))
    return [OrderTouch(at, Kind.RELATED_CLICK, user_id=user_id)
            for user_id, at in clicks.values_list("user_id", "created_at")]


TOOL = Tool(
    key="related",
    name=_("Related products and cross-sell"),
    description=_("“Bought together” on product pages and “complete your basket” on the basket page, learnt from "
                  "the order history; also in recovery mails."),
    phases=[Phase.CONVINCE, Phase.SELL],
    touchpoints=[Touchpoint.WEB, Touchpoint.EMAIL],
    health=health,
    metrics=metrics,
    series=series,
    series_title=_("Clicks per day"),
    touches=touches,
    jobs=["rebuild_related_products"],
    admin_url_name="admin:journey_relatedbuild_changelist",
    order=20,
)


def register_all(registry):
    registry.register(TOOL)


def connect():
    """Wire the tool (JourneyConfig.ready() calls this when ``journey.related`` is in JOURNEY["TOOLS"])."""
    from . import privacy, tasks  # noqa: F401 - tasks register with Celery on import

    privacy.connect()
