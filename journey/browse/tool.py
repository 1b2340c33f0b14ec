"""Browse abandonment as a journey tool (phase Convince): its health and its numbers on the journey map."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..core.models import Message
from ..core.registry import Health, Holdout, Tool, Touchpoint
from ..phases import Phase
from .services import TOOL as KEY


def health():
    from .models import BrowseProgram

    program = BrowseProgram.load()
    if not program.is_active:
        return Health.idle(_("Turned off: switch the browse reminder on in admin."))
    n = Message.objects.filter(tool=KEY, state=Message.State.SCHEDULED).count()
    return Health.ok(ngettext("%(n)d reminder waiting to be sent.", "%(n)d reminders waiting to be sent.", n)
                     % {"n": n})


def metrics(start, end):
    from .numbers import metrics as browse_metrics

    return browse_metrics(start, end)


TOOL = Tool(
    key=KEY,
    name=_("Browse abandonment"),
    description=_("Reminds known shoppers of the products they looked at and did not buy, with related products, "
                  "once."),
    phases=[Phase.CONVINCE],
    touchpoints=[Touchpoint.EMAIL, Touchpoint.WEB],
    health=health,
    metrics=metrics,
    jobs=["scan_browse_abandonment", "send_due_messages"],
    admin_url_name="admin:journey_browseprogram_changelist",
    order=15,
    holdout=Holdout(share="0.10", surface="mail", window_days=7),
)


def register_all(registry):
    registry.register(TOOL)


def connect():
    """Wire the tool (JourneyConfig.ready() calls this when ``journey.browse`` is in JOURNEY["TOOLS"])."""
    from . import mail, privacy, tasks  # noqa: F401 - the mail kind registers with the outbox, tasks with Celery

    privacy.connect()
