"""The numbers of abandoned-basket recovery for a period, and the story of one basket.

One service for every place that shows them (the admin report, the journey map): aggregate queries only, a handful
per call whatever the size of the tables.  Periods are half-open, ``[start, end)``, in aware datetimes; money is
Decimal; "daily" means days in the store time zone (``JOURNEY["STORE_TIME_ZONE"]`` or ``TIME_ZONE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncDate
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext, pgettext
from oscar.core.loading import get_model

from ..core.models import Message, PersonalVoucher
from ..core.reporting import percentage, store_time_zone
from ..core.reporting.mail_chart import Day, count_per_day, days_between
from .models import BasketActivity
from .services import MAIL_KIND

State = BasketActivity.State
ZERO = Decimal("0.00")
VOUCHER_PURPOSE = "recovery"


def _recovery_mails():
    return Message.objects.filter(tool="recovery", kind=MAIL_KIND)


def _activity_ref():
    """The activity a recovery mail is about, as an integer column (``context['activity_id']``)."""
    return Cast(KT("context__activity_id"), IntegerField())


# The numbers of a period -----------------------------------------------------------------------------------------
@dataclass
class StepRow:
    step: int
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    recovered: int = 0

    @property
    def click_rate(self) -> Decimal | None:
        return percentage(self.clicked, self.sent)


@dataclass
class RecoveryNumbers:
    start: datetime
    end: datetime
    started: int = 0
    not_chased: int = 0
    # [(stop_reason, count)], most frequent first.
    not_chased_reasons: list[tuple[str, int]] = field(default_factory=list)
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    recovered: int = 0
    recovered_revenue: Decimal = ZERO
    recovery_rate: Decimal | None = None
    voucher_cost: Decimal = ZERO
    per_step: list[StepRow] = field(default_factory=list)
    # Recovery mails the frequency cap dropped in the period (docs/mail.md), and mails sent without the step's
    # discount because of the incentive guard (docs/recovery.md).
    held_back: int = 0
    incentives_withheld: int = 0

    @property
    def unattributed(self) -> int:
        """Recovered baskets no clicked recovery mail could be found for (e.g. its rows were deleted)."""
        return max(0, self.recovered - sum(row.recovered for row in self.per_step))


def recovery_numbers(start: datetime, end: datetime) -> RecoveryNumbers:
    """What recovery did in ``[start, end)``: five aggregate queries."""
    numbers = RecoveryNumbers(start=start, end=end)
    in_period = {"gte": start, "lt": end}

    def between(name):
        return Q(**{f"{name}__{op}": value for op, value in in_period.items()})

    started_q = between("sequence_started_at")
    stopped_q = Q(state=State.STOPPED) & between("updated_at")
    recovered_q = Q(state=State.RECOVERED) & between("ordered_at")

    # 1. Baskets: started, not chased, recovered and their revenue.
    agg = BasketActivity.objects.filter(started_q | stopped_q | recovered_q).aggregate(
        started=Count("id", filter=started_q),
        not_chased=Count("id", filter=stopped_q),
        recovered=Count("id", filter=recovered_q),
        revenue=Sum("recovered_revenue", filter=recovered_q),
    )
    numbers.started = agg["started"]
    numbers.not_chased = agg["not_chased"]
    numbers.recovered = agg["recovered"]
    numbers.recovered_revenue = agg["revenue"] or ZERO
    numbers.recovery_rate = percentage(numbers.recovered, numbers.started)

    # 2. Why baskets were not chased.
    numbers.not_chased_reasons = [
        (row["stop_reason"], row["n"])
        for row in BasketActivity.objects.filter(stopped_q).values("stop_reason").annotate(n=Count("id"))
        .order_by("-n", "stop_reason")
    ]

    # 3. Mails per step (the totals are their sums), with the ones the frequency cap dropped in the period and the
    #    sent ones whose discount the incentive guard left out.
    rows = {}
    capped_q = Q(state=Message.State.CAPPED) & between("closed_at")
    sent_q = between("sent_at")
    for row in (
        _recovery_mails().filter(sent_q | capped_q).values("step").annotate(
            sent=Count("id", filter=sent_q),
            delivered=Count("id", filter=sent_q & Q(delivered_at__isnull=False)),
            opened=Count("id", filter=sent_q & Q(opened_at__isnull=False)),
            clicked=Count("id", filter=sent_q & Q(clicked_at__isnull=False)),
            held_back=Count("id", filter=capped_q),
            withheld=Count("id", filter=sent_q & Q(context__has_key="incentive_withheld")),
        ).order_by("step")
    ):
        if row["sent"]:
            rows[row["step"]] = StepRow(row["step"], row["sent"], row["delivered"], row["opened"], row["clicked"])
        numbers.held_back += row["held_back"]
        numbers.incentives_withheld += row["withheld"]

    # 4. Recovered baskets, each attributed to the last recovery mail clicked for it (the greatest step).
    last_clicked = (
        _recovery_mails().filter(clicked_at__isnull=False).annotate(activity_ref=_activity_ref())
        .filter(activity_ref=OuterRef("pk")).order_by("-step").values("step")[:1]
    )
    for row in (
        BasketActivity.objects.filter(recovered_q).annotate(last_step=Subquery(last_clicked))
        .values("last_step").annotate(n=Count("id")).order_by()
    ):
        if row["last_step"] is not None:
            rows.setdefault(row["last_step"], StepRow(row["last_step"])).recovered += row["n"]
    numbers.per_step = [rows[step] for step in sorted(rows)]
    for name in ("sent", "delivered", "opened", "clicked"):
        setattr(numbers, name, sum(getattr(row, name) for row in numbers.per_step))

    # 5. What the recovery vouchers cost, on orders placed in the period.
    OrderDiscount = get_model("order", "OrderDiscount")
    numbers.voucher_cost = OrderDiscount.objects.filter(
        order__date_placed__gte=start, order__date_placed__lt=end,
        voucher_id__in=PersonalVoucher.objects.filter(purpose=VOUCHER_PURPOSE, voucher_id__isnull=False)
        .values("voucher_id"),
    ).aggregate(total=Sum("amount"))["total"] or ZERO
    return numbers


def daily_series(start: datetime, end: datetime) -> list[Day]:
    """One row per store-time-zone day of ``[start, end)``, every day present: mails sent, mails clicked and
    baskets recovered (with their revenue) on that day.  Three aggregate queries."""
    tz = store_time_zone()
    recovered = {
        row["day"]: (row["n"], row["revenue"] or ZERO)
        for row in BasketActivity.objects.filter(state=State.RECOVERED, ordered_at__gte=start, ordered_at__lt=end)
        .annotate(day=TruncDate("ordered_at", tzinfo=tz)).values("day")
        .annotate(n=Count("id"), revenue=Sum("recovered_revenue")).order_by()
    }
    return days_between(start, end, sent=count_per_day(_recovery_mails(), "sent_at", start, end),
                        clicked=count_per_day(_recovery_mails(), "clicked_at", start, end), recovered=recovered)


# The story of one basket -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str
    label: str
    detail: str = ""
    url: str = ""


def _admin_url(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def basket_messages(activity):
    """Every recovery mail about ``activity``'s basket, in any cycle (and the "email me my basket" mail)."""
    return Message.objects.filter(
        Q(subject_key__startswith=f"recovery:basket:{activity.basket_id}:")
        | Q(tool="recovery", context__activity_id=activity.pk)
    ).order_by("created_at", "step")


def timeline(activity) -> list[TimelineEvent]:
    """What happened to one basket, oldest first: three queries."""
    Basket = get_model("basket", "Basket")
    Order = get_model("order", "Order")
    events = []
    basket_created = Basket.objects.filter(pk=activity.basket_id).values_list("date_created", flat=True).first()
    if basket_created:
        events.append(TimelineEvent(basket_created, "basket", gettext("Basket created")))
    if activity.email_captured_at:
        detail = gettext("%(email)s, from: %(source)s") % {
            "email": activity.email, "source": activity.get_email_source_display() or "—"}
        if activity.consent:
            detail += " · " + gettext("consent given to: “%(text)s”") % {"text": activity.consent_text or "—"}
        events.append(TimelineEvent(activity.email_captured_at, "email", gettext("Email captured"), detail))
    events.append(TimelineEvent(activity.last_activity_at, "activity", gettext("Last activity in the basket")))
    if activity.sequence_started_at:
        events.append(TimelineEvent(activity.sequence_started_at, "sequence",
                                    gettext("Recovery sequence started (cycle %(cycle)d)") % {"cycle": activity.cycle}))
    if activity.state == State.STOPPED and activity.stop_reason:
        events.append(TimelineEvent(activity.updated_at, "stopped", gettext("Not chased"),
                                    gettext(activity.stop_reason)))

    for message in basket_messages(activity).only(
        "id", "step", "kind", "created_at", "due_at", "sent_at", "delivered_at", "opened_at", "clicked_at",
        "bounced_at", "complained_at", "unsubscribed_at", "closed_at", "state", "close_reason", "subject", "to_email",
    ):
        url = _admin_url("admin:journey_message_change", message.pk)
        if message.kind == MAIL_KIND:
            name = gettext("Mail %(step)d") % {"step": message.step}
        else:
            name = gettext("“Email me my basket” mail")
        steps = [
            (message.created_at, "scheduled", gettext("%(mail)s scheduled"),
             gettext("due at %(due)s") % {"due": _local(message.due_at)}),
            (message.sent_at, "sent", gettext("%(mail)s sent"), message.subject),
            (message.delivered_at, "delivered", gettext("%(mail)s delivered"), ""),
            (message.opened_at, "opened", gettext("%(mail)s opened"), ""),
            (message.clicked_at, "clicked", gettext("%(mail)s clicked"), ""),
            (message.bounced_at, "bounced", gettext("%(mail)s bounced"), ""),
            (message.complained_at, "complained", gettext("%(mail)s marked as spam"), ""),
            (message.unsubscribed_at, "unsubscribed", gettext("Unsubscribed from %(mail)s"), ""),
        ]
        if message.state in (Message.State.CANCELLED, Message.State.FAILED, Message.State.SUPPRESSED):
            steps.append((message.closed_at, message.state, gettext("%(mail)s not sent: %(state)s"),
                          gettext(message.close_reason) if message.close_reason else ""))
        for at, kind, label, detail in steps:
            if at:
                events.append(TimelineEvent(at, kind, label % {"mail": name, "state": message.get_state_display()},
                                            detail, url))

    if activity.first_clicked_at:
        events.append(TimelineEvent(activity.first_clicked_at, "first_click",
                                    gettext("First click: back to the basket")))
    if activity.order_number:
        order = Order.objects.filter(number=activity.order_number).values(
            "id", "number", "date_placed", "total_incl_tax", "currency").first()
        at = activity.ordered_at or (order["date_placed"] if order else None)
        if at:
            label = (gettext("Ordered: recovered") if activity.state == State.RECOVERED else gettext("Ordered"))
            detail = pgettext("journey", "Order %(number)s") % {"number": activity.order_number}
            if order:
                detail += f" · {_local(order['date_placed'])} · {order['total_incl_tax']} {order['currency']}"
            url = _admin_url("dashboard:order-detail", activity.order_number) if order else ""
            events.append(TimelineEvent(at, "order", label, detail, url))
    events.sort(key=lambda e: e.at)
    return events


def _local(moment):
    return f"{moment.astimezone(store_time_zone()):%Y-%m-%d %H:%M}" if moment else "—"
