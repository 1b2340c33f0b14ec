"""Price-drop alerts as a journey tool (phases Retain and Sell): health and numbers on the journey map."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..conf import journey_settings
from ..core.registry import Health, Holdout, Tool, Touchpoint
from ..phases import Phase
from .services import TOOL as KEY


def health():
    from .models import PriceWatch

    if not journey_settings.PRICE_DROP_ALERTS:
        return Health.idle(_("Turned off: PRICE_DROP_ALERTS is False in the JOURNEY settings."))
    n = PriceWatch.objects.count()
    return Health.ok(ngettext("%(n)d product watched in baskets and wish lists.",
                              "%(n)d products watched in baskets and wish lists.", n) % {"n": n})


def metrics(start, end):
    from .numbers import metrics as drop_metrics

    return drop_metrics(start, end)


TOOL = Tool(
    key=KEY,
    name=_("Price-drop alerts"),
    description=_("Tells customers when a product in their basket or wish list gets cheaper: one mail with all "
                  "their drops."),
    phases=[Phase.RETAIN, Phase.SELL],
    touchpoints=[Touchpoint.EMAIL],
    health=health,
    metrics=metrics,
    jobs=["scan_price_drops", "send_due_messages"],
    admin_url_name="admin:journey_pricewatch_changelist",
    order=25,
    holdout=Holdout(share="0.10", surface="mail", window_days=7),
)


def register_all(registry):
    registry.register(TOOL)


def connect():
    """Wire the tool (JourneyConfig.ready() calls this when ``journey.pricedrops`` is in JOURNEY["TOOLS"])."""
    from . import mail, privacy, tasks  # noqa: F401 - the mail kind registers with the outbox, tasks with Celery

    privacy.connect()
