"""Birthday rewards as a journey tool (phase Retain): its health and its numbers on the journey map."""

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oscar.core.loading import get_model

from ..core.models import Message, PersonalVoucher
from ..phases import Phase
from ..registry import Health, Metric, Tool, Touchpoint
from . import birthday_mail  # noqa: F401  (registers the birthday mail kind with the outbox)
from .birthday_models import BirthdayProgram
from .birthdays import PURPOSE, TOOL
from .models import CustomerProfile


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


def numbers(start, end) -> dict:
    """Mails sent, vouchers issued and vouchers redeemed by the birthday program between start and end."""
    VoucherApplication = get_model("voucher", "VoucherApplication")
    sent = Message.objects.filter(tool=TOOL, sent_at__gte=start, sent_at__lt=end).count()
    issued = PersonalVoucher.objects.filter(purpose=PURPOSE, created_at__gte=start, created_at__lt=end).aggregate(
        n=Count("id"))["n"]
    redeemed = VoucherApplication.objects.filter(
        Q(voucher__journey_binding__purpose=PURPOSE), date_created__gte=start, date_created__lt=end
    ).values("order_id").distinct().count()
    return {"sent": sent, "issued": issued, "redeemed": redeemed}


def metrics(start, end):
    data = numbers(start, end)
    return [
        Metric(_("Birthday mails sent"), data["sent"]),
        Metric(_("Vouchers issued"), data["issued"]),
        Metric(_("Vouchers redeemed"), data["redeemed"]),
    ]


TOOL_ENTRY = Tool(
    key="birthday",
    name=_("Birthday rewards"),
    description=_("A personal voucher and a mail on each customer's birthday (or some days before), once a year."),
    phases=[Phase.RETAIN],
    touchpoints=[Touchpoint.EMAIL, Touchpoint.WEB],
    health=health,
    metrics=metrics,
    jobs=["birthday_rewards", "send_due_messages"],
    admin_url_name="admin:journey_birthdayprogram_changelist",
    order=40,
)


def register_all(registry):
    registry.register(TOOL_ENTRY)
