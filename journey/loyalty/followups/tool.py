"""Post-purchase and win-back as journey tools (phase Retain): their health, and the Retain numbers of
``loyalty.numbers`` on the journey map."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ...core.models import Message
from ...core.registry import Health, Holdout, Tool, Touchpoint
from ...phases import Phase
from ..numbers import metrics_for
from . import mail  # noqa: F401  (registers the two mail kinds with the outbox)
from .models import PostPurchaseProgram, WinbackProgram
from .services import POST_PURCHASE, WINBACK


def _scheduled(tool):
    return Message.objects.filter(tool=tool, state=Message.State.SCHEDULED).count()


def post_purchase_health():
    program = PostPurchaseProgram.load()
    if not program.is_active:
        return Health.idle(_("Turned off: switch the post-purchase program on in admin."))
    n = _scheduled(POST_PURCHASE)
    return Health.ok(ngettext("%(n)d thank-you mail waiting to be sent.", "%(n)d thank-you mails waiting to be sent.",
                              n) % {"n": n})


def winback_health():
    program = WinbackProgram.load()
    if not program.is_active:
        return Health.idle(_("Turned off: switch the win-back program on in admin."))
    n = _scheduled(WINBACK)
    return Health.ok(ngettext("After %(days)d days without an order; %(n)d mail waiting to be sent.",
                              "After %(days)d days without an order; %(n)d mails waiting to be sent.", n)
                     % {"days": program.after_days, "n": n})


POST_PURCHASE_TOOL = Tool(
    key=POST_PURCHASE,
    name=_("Post-purchase voucher"),
    description=_("Thanks customers after an order with a single-use voucher for their next one and products "
                  "that go with what they bought."),
    phases=[Phase.RETAIN],
    touchpoints=[Touchpoint.EMAIL],
    health=post_purchase_health,
    metrics=metrics_for(POST_PURCHASE),
    jobs=["send_due_messages"],
    admin_url_name="admin:journey_postpurchaseprogram_changelist",
    order=20,
    holdout=Holdout(share="0.10", surface="mail", window_days=30),
)

WINBACK_TOOL = Tool(
    key=WINBACK,
    name=_("Win-back mail"),
    description=_("Invites customers who have not ordered for a while back, with a voucher."),
    phases=[Phase.RETAIN],
    touchpoints=[Touchpoint.EMAIL],
    health=winback_health,
    metrics=metrics_for(WINBACK),
    jobs=["schedule_winback_mails", "send_due_messages"],
    admin_url_name="admin:journey_winbackprogram_changelist",
    order=30,
    holdout=Holdout(share="0.10", surface="mail", window_days=30),
)


def register_all(registry):
    registry.register(POST_PURCHASE_TOOL)
    registry.register(WINBACK_TOOL)
