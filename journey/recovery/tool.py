"""Abandoned-basket recovery as a journey tool (phase Sell): its health and its numbers on the journey map."""

from datetime import timedelta

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oscar.core.loading import get_model

from ..core.registry import Health, Holdout, Metric, OrderTouch, Tool, Touchpoint
from ..core.reporting.series import per_day
from ..phases import Phase
from . import mail  # noqa: F401  (registers the recovery mail kinds with the outbox)
from .models import BasketActivity, RecoveryStep


def health():
    steps = RecoveryStep.objects.filter(is_active=True).count()
    if not steps:
        return Health.idle(_("No recovery mail is active: turn one on in the recovery sequence."))
    running = BasketActivity.objects.filter(state=BasketActivity.State.IN_SEQUENCE).count()
    return Health.ok(
        ngettext("%(steps)d mail in the sequence", "%(steps)d mails in the sequence", steps) % {"steps": steps}
        + "; "
        + ngettext("%(n)d basket being recovered.", "%(n)d baskets being recovered.", running) % {"n": running}
    )


def metrics(start, end):
    from .numbers import recovery_numbers

    numbers = recovery_numbers(start, end)
    rows = [
        Metric(_("Abandoned baskets chased"), numbers.started),
        Metric(_("Mails sent"), numbers.sent),
        Metric(_("Clicked"), numbers.clicked),
        Metric(_("Recovered"), numbers.recovered),
        Metric(_("Recovered revenue"), numbers.recovered_revenue, "money"),
    ]
    if numbers.recovery_rate is not None:
        rows.append(Metric(_("Recovery rate"), numbers.recovery_rate, "percent"))
    if numbers.held_back:
        rows.append(Metric(_("Held back by the frequency cap"), numbers.held_back))
    if numbers.incentives_withheld:
        rows.append(Metric(_("Incentives withheld"), numbers.incentives_withheld))
    return rows


def _recovered(start, end):
    return BasketActivity.objects.filter(state=BasketActivity.State.RECOVERED, ordered_at__gte=start,
                                         ordered_at__lt=end)


def series(start, end, products=None):
    """Recovered revenue per store day; for a category or product, the revenue of its lines in recovered orders."""
    if products is None:
        return per_day(_recovered(start, end), "ordered_at", Sum("recovered_revenue"))
    Line = get_model("order", "Line")
    lines = Line.objects.filter(order__date_placed__gte=start, order__date_placed__lt=end, product_id__in=products,
                                order__number__in=_recovered(start, end).values("order_number"))
    return per_day(lines, "order__date_placed", Sum("line_price_incl_tax"))


def touches(orders, start, end, since):
    """Recovery's own attribution: an order whose basket a clicked recovery mail brought back."""
    rows = list(_recovered(start - timedelta(days=1), end + timedelta(days=1))
                .filter(order_number__in=orders.values("number"))
                .values_list("order_number", "first_clicked_at", "ordered_at"))
    if not rows:
        return []
    number_to_id = dict(orders.filter(number__in=[r[0] for r in rows]).values_list("number", "id"))
    return [OrderTouch(clicked or ordered, "recovered", order_id=number_to_id[number])
            for number, clicked, ordered in rows if number in number_to_id]


TOOL = Tool(
    key="recovery",
    name=_("Abandoned-basket recovery"),
    description=_("Mails shoppers who left a basket, with a link that restores it on any device."),
    phases=[Phase.SELL],
    touchpoints=[Touchpoint.EMAIL, Touchpoint.WEB],
    health=health,
    metrics=metrics,
    series=series,
    series_title=_("Recovered revenue per day"),
    touches=touches,
    jobs=["scan_abandoned_baskets", "send_due_messages"],
    admin_url_name="admin:journey_recoverystep_changelist",
    order=10,
    holdout=Holdout(share="0.10", surface="mail", window_days=7),
)


def register_all(registry):
    registry.register(TOOL)


def connect():
    """Wire the tool (JourneyConfig.ready() calls this when ``journey.recovery`` is in JOURNEY["TOOLS"])."""
    from . import privacy, receivers, tasks  # noqa: F401 - tasks register with Celery on import

    receivers.connect()
    privacy.connect()
