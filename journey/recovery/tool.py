"""Abandoned-basket recovery as a journey tool (phase Sell): its health and its numbers on the journey map."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..core.registry import Health, Metric, Tool, Touchpoint
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
    from .report import recovery_numbers

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
    return rows


TOOL = Tool(
    key="recovery",
    name=_("Abandoned-basket recovery"),
    description=_("Mails shoppers who left a basket, with a link that restores it on any device."),
    phases=[Phase.SELL],
    touchpoints=[Touchpoint.EMAIL, Touchpoint.WEB],
    health=health,
    metrics=metrics,
    jobs=["scan_abandoned_baskets", "send_due_messages"],
    admin_url_name="admin:journey_recoverystep_changelist",
    order=10,
)


def register_all(registry):
    registry.register(TOOL)


def connect():
    """Wire the tool (JourneyConfig.ready() calls this when ``journey.recovery`` is in JOURNEY["TOOLS"])."""
    from . import receivers, tasks  # noqa: F401 - tasks register with Celery on import

    receivers.connect()
