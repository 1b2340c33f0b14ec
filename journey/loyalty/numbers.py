"""The numbers of a Retain program (post-purchase, win-back, birthday…) for a period, by its tool key.

Generic: a program is found by its key — outbox messages have ``tool = key`` and the personal vouchers it issues
have ``purpose = key`` — so any program built on the outbox and the voucher service is measured the same way.
Periods are half-open, ``[start, end)``, aware datetimes; money is Decimal.  Definitions (docs/loyalty-followups.md):

* **sent / delivered / opened / clicked** — mails of the program sent in the period, and how many of those were
  delivered, opened or clicked (at any time).
* **vouchers issued** — personal vouchers of the program created in the period.
* **vouchers redeemed / orders / revenue / discount** — orders placed in the period, not cancelled or refunded
  (``JOURNEY["ORDER_CANCELLED_STATUSES"]``), that used a voucher of the program (Oscar's ``OrderDiscount`` with its
  ``voucher_id``): how many distinct vouchers, how many orders, their total (incl. tax), the discount given.
* **repeat purchase rate** — *recipients*: customers (an account, or a guest's address) sent at least one mail of
  the program in the period; the share of them who placed an order (that counts) after their first such mail and
  before the end of the period.  *Non-recipients*: customers who had ordered before the period began and were sent
  no mail of the program in it; the share of them who placed an order in the period.  Non-recipients have the whole
  period to order, recipients only what is left after their mail, so the comparison leans against the program.

The journey map shows every Retain program with the same rows (:func:`metrics_for`, used by the birthday,
post-purchase and win-back tools) and the Retain report the fuller list (:func:`metrics` with ``full=True``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from ..core.models import Message, PersonalVoucher
from ..core.registry import Metric
from ..core.reporting import percentage, store_time_zone
from ..core.reporting.mail_chart import Day, count_per_day, days_between
from .orders import cancelled_statuses, live_orders

ZERO = Decimal("0.00")
Order = get_model("order", "Order")
OrderDiscount = get_model("order", "OrderDiscount")


@dataclass
class ProgramNumbers:
    tool: str
    start: datetime
    end: datetime
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    vouchers_issued: int = 0
    vouchers_redeemed: int = 0
    orders: int = 0
    revenue: Decimal = ZERO
    discount: Decimal = ZERO
    recipients: int = 0
    recipients_reordered: int = 0
    non_recipients: int = 0
    non_recipients_reordered: int = 0
    held_back: int = 0  # mails the frequency cap dropped in the period (docs/mail.md)

    @property
    def open_rate(self):
        return percentage(self.opened, self.sent)

    @property
    def click_rate(self):
        return percentage(self.clicked, self.sent)

    @property
    def redemption_rate(self):
        """Vouchers redeemed in the period per mail sent in the period (a percentage)."""
        return percentage(self.vouchers_redeemed, self.sent)

    @property
    def repeat_rate(self):
        return percentage(self.recipients_reordered, self.recipients)

    @property
    def non_recipient_repeat_rate(self):
        return percentage(self.non_recipients_reordered, self.non_recipients)


def _mails(tool):
    return Message.objects.filter(tool=tool)


def _program_voucher_ids(tool):
    return PersonalVoucher.objects.filter(purpose=tool, voucher_id__isnull=False).values("voucher_id")


def _redemptions(tool, start, end):
    return OrderDiscount.objects.filter(
        voucher_id__in=_program_voucher_ids(tool),
        order__in=live_orders().filter(date_placed__gte=start, date_placed__lt=end).values("pk"),
    )


def program_numbers(tool: str, start: datetime, end: datetime) -> ProgramNumbers:
    """What the program ``tool`` did in ``[start, end)``: six aggregate queries."""
    numbers = ProgramNumbers(tool, start, end)
    sent_q = Q(sent_at__gte=start, sent_at__lt=end)
    capped_q = Q(state=Message.State.CAPPED, closed_at__gte=start, closed_at__lt=end)
    agg = _mails(tool).filter(sent_q | capped_q).aggregate(
        sent=Count("id", filter=sent_q), delivered=Count("id", filter=sent_q & Q(delivered_at__isnull=False)),
        opened=Count("id", filter=sent_q & Q(opened_at__isnull=False)),
        clicked=Count("id", filter=sent_q & Q(clicked_at__isnull=False)), held_back=Count("id", filter=capped_q),
    )
    for name, value in agg.items():
        setattr(numbers, name, value or 0)
    numbers.vouchers_issued = PersonalVoucher.objects.filter(purpose=tool, created_at__gte=start,
                                                             created_at__lt=end).count()
    redemptions = _redemptions(tool, start, end)
    agg = redemptions.aggregate(vouchers=Count("voucher_id", distinct=True), orders=Count("order_id", distinct=True),
                                discount=Sum("amount"))
    numbers.vouchers_redeemed, numbers.orders = agg["vouchers"], agg["orders"]
    numbers.discount = agg["discount"] or ZERO
    numbers.revenue = Order.objects.filter(pk__in=redemptions.values("order_id")).aggregate(
        total=Sum("total_incl_tax"))["total"] or ZERO
    (numbers.recipients, numbers.recipients_reordered,
     numbers.non_recipients, numbers.non_recipients_reordered) = repeat_purchases(tool, start, end)
    return numbers


def metrics(figures: ProgramNumbers, *, full=False) -> list[Metric]:
    """The rows a program shows: mails sent, opened, clicked, vouchers redeemed, revenue, repeat rates (left out
    while there is no one to compare).  ``full`` (the Retain report) adds delivered, vouchers issued and the
    discount given, and keeps empty rates (shown as "—")."""
    rows = [
        Metric(_("Mails sent"), figures.sent),
        *([Metric(_("Delivered"), figures.delivered)] if full else []),
        Metric(_("Opened"), figures.opened),
        Metric(_("Clicked"), figures.clicked),
        *([Metric(_("Vouchers issued"), figures.vouchers_issued)] if full else []),
        Metric(_("Vouchers redeemed"), figures.vouchers_redeemed),
        Metric(_("Revenue from voucher orders"), figures.revenue, "money"),
        *([Metric(_("Discount given"), figures.discount, "money")] if full else []),
        *([Metric(_("Held back by the frequency cap"), figures.held_back)] if full or figures.held_back else []),
    ]
    for label, rate in ((_("Ordered again (recipients)"), figures.repeat_rate),
                        (_("Ordered again (others)"), figures.non_recipient_repeat_rate)):
        if full or rate is not None:
            rows.append(Metric(label, rate, "percent"))
    return rows


def metrics_for(tool: str):
    """The journey-map ``metrics`` callable of the Retain program ``tool`` (a ``Tool(metrics=...)``)."""

    def tool_metrics(start, end):
        return metrics(program_numbers(tool, start, end))

    return tool_metrics


def _live(alias):
    statuses = cancelled_statuses()
    if not statuses:
        return "1 = 1", []
    return f"LOWER({alias}.status) NOT IN ({', '.join(['%s'] * len(statuses))})", statuses


def repeat_purchases(tool, start, end) -> tuple[int, int, int, int]:
    """(recipients, recipients who ordered after their first mail, non-recipients, non-recipients who ordered)
    for ``[start, end)`` — see the module docstring.  Two queries."""
    ops = connection.ops
    start_p, end_p = ops.adapt_datetimefield_value(start), ops.adapt_datetimefield_value(end)
    messages, orders = Message._meta.db_table, Order._meta.db_table
    live_o, status_params = _live("o")
    recipients_sql = f"""
        SELECT COUNT(*),
               COALESCE(SUM(CASE WHEN (r.user_id IS NOT NULL AND EXISTS (
                        SELECT 1 FROM {orders} o WHERE o.user_id = r.user_id AND o.date_placed > r.anchor
                        AND o.date_placed < %s AND {live_o}))
                    OR (r.user_id IS NULL AND EXISTS (
                        SELECT 1 FROM {orders} o WHERE o.user_id IS NULL AND LOWER(TRIM(o.guest_email)) = r.email
                        AND o.date_placed > r.anchor AND o.date_placed < %s AND {live_o}))
                    THEN 1 ELSE 0 END), 0)
        FROM (SELECT m.user_id, CASE WHEN m.user_id IS NULL THEN m.to_email ELSE '' END AS email,
                     MIN(m.sent_at) AS anchor
              FROM {messages} m WHERE m.tool = %s AND m.sent_at >= %s AND m.sent_at < %s
              GROUP BY m.user_id, CASE WHEN m.user_id IS NULL THEN m.to_email ELSE '' END) r
    """  # noqa: S608 - table names are ours
    others_sql = f"""
        SELECT COUNT(*), COALESCE(SUM(c.ordered), 0)
        FROM (SELECT CASE WHEN o.user_id IS NULL THEN 'e:' || LOWER(TRIM(o.guest_email))
                          ELSE 'u:' || o.user_id END AS who,
                     MAX(CASE WHEN o.date_placed >= %s THEN 1 ELSE 0 END) AS ordered
              FROM {orders} o
              WHERE o.date_placed < %s AND {live_o} AND (o.user_id IS NOT NULL OR o.guest_email <> '')
              GROUP BY CASE WHEN o.user_id IS NULL THEN 'e:' || LOWER(TRIM(o.guest_email))
                            ELSE 'u:' || o.user_id END
              HAVING MIN(o.date_placed) < %s) c
        WHERE c.who NOT IN (
            SELECT CASE WHEN m.user_id IS NULL THEN 'e:' || m.to_email ELSE 'u:' || m.user_id END
            FROM {messages} m WHERE m.tool = %s AND m.sent_at >= %s AND m.sent_at < %s)
    """  # noqa: S608 - table names are ours
    with connection.cursor() as cursor:
        cursor.execute(recipients_sql, [end_p, *status_params, end_p, *status_params, tool, start_p, end_p])
        recipients, reordered = cursor.fetchone()
        cursor.execute(others_sql, [start_p, end_p, *status_params, start_p, tool, start_p, end_p])
        others, others_reordered = cursor.fetchone()
    return int(recipients), int(reordered or 0), int(others), int(others_reordered or 0)


def daily_series(tool: str, start: datetime, end: datetime) -> list[Day]:
    """One ``core.reporting.mail_chart.Day`` per store-time-zone day of ``[start, end)`` (so its chart helper draws
    it): mails sent, mails clicked, vouchers redeemed (in the "recovered" slot) and their orders' revenue.  Three
    queries."""
    tz = store_time_zone()
    redeemed = {
        row["day"]: (row["n"], row["revenue"] or ZERO)
        for row in Order.objects.filter(pk__in=_redemptions(tool, start, end).values("order_id"))
        .annotate(day=TruncDate("date_placed", tzinfo=tz)).values("day")
        .annotate(n=Count("id"), revenue=Sum("total_incl_tax")).order_by()
    }
    return days_between(start, end, sent=count_per_day(_mails(tool), "sent_at", start, end),
                        clicked=count_per_day(_mails(tool), "clicked_at", start, end), recovered=redeemed)
