"""Birthday rewards as a journey tool (phase Retain): its health, and the Retain numbers of ``loyalty.numbers``
(the same as post-purchase and win-back) on the journey map."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ...core.registry import Health, Holdout, Tool, Touchpoint
from ...phases import Phase
from ..numbers import metrics_for
from ..profiles.models import CustomerProfile
from . import mail  # noqa: F401  (registers the birthday mail kind with the outbox)
from .models import BirthdayProgram
from .services import TOOL


def health():
    program = BirthdayProgram.objects.filter(pk=1).first()
    if program is None or not program.is_active:
        return Health.idle(_("Birthday rewards are off: turn them on in the birthday program."))
    with_birthday = CustomerProfile.objects.filter(birth_month__isnull=False).count()
    if not with_birthday:
        return Health.warning(_("No customer has given a birthday yet: link the profile page from your account "
                                "menu, or import birthdays from a CSV file."))
    return Health.ok(ngettext("%(n)d customer with a birthday.", "%(n)d customers with a birthday.", with_birthday)
                     % {"n": with_birthday})


TOOL_ENTRY = Tool(
    key=TOOL,
    name=_("Birthday rewards"),
    description=_("A personal voucher and a mail on each customer's birthday (or some days before), once a year."),
    phases=[Phase.RETAIN],
    touchpoints=[Touchpoint.EMAIL, Touchpoint.WEB],
    health=health,
    metrics=metrics_for(TOOL),
    jobs=["birthday_rewards", "send_due_messages"],
    admin_url_name="admin:journey_birthdayprogram_changelist",
    order=40,
    holdout=Holdout(share="0.10", surface="mail", window_days=30),
)


def register_all(registry):
    registry.register(TOOL_ENTRY)
