"""Post-purchase and win-back: who gets which mail, and when (see docs/loyalty-followups.md).

* **Post-purchase "next order" voucher** — after an order (``on_order_placed``, run on commit by a thin receiver)
  one outbox message per order, ``subject_key = "post_purchase:order:<order id>"``: the outbox's unique
  (subject_key, step) makes a second ``order_placed`` a no-op.  The voucher is issued when the mail is sent
  (``issue_personal_voucher(key="post_purchase:<order number>")``, idempotent), so a cancelled mail costs nothing.
  A cancelled or refunded order cancels the mail (``on_order_status_changed``) and the send-time check in
  ``followups_mail`` cancels it again if the status was changed without Oscar's signal.
* **Win-back** — ``schedule_winback`` is the daily job: one query selects every lapsed customer (registered, and
  guests by their order email) who may get a mail now, one INSERT schedules them all.  At most one mail per
  customer in ``after_days`` days, at most ``mails_per_absence`` per absence; an order cancels the pending mail.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from oscar.core.loading import get_model

from ...conf import journey_settings
from ...core import outbox, suppression
from ...core.models import Message
from ..orders import cancelled_statuses, is_cancelled, live_orders
from ..profiles.consent import marketing_allowed
from ..profiles.models import CustomerProfile
from .models import PostPurchaseProgram, WinbackProgram

logger = logging.getLogger(__name__)
Order = get_model("order", "Order")

POST_PURCHASE = "post_purchase"  # the tool key, the mail kind and the vouchers' purpose
WINBACK = "winback"
WINBACK_LOCK = 0x4A4F5701  # PostgreSQL advisory lock of the win-back job ("JOW" + 1)


# Shared checks ----------------------------------------------------------------------------------------------------
def profiles_for(user_ids) -> dict[int, CustomerProfile]:
    ids = {pk for pk in user_ids if pk}
    return {p.user_id: p for p in CustomerProfile.objects.filter(user_id__in=ids)} if ids else {}


def marketing_ok(user_id, profiles) -> bool:
    """May this customer get marketing mail?  Registered: ``marketing_allowed`` of their profile.  Guests have no
    profile and no recorded opt-in: allowed under ``CONSENT_POLICY = "notice"`` only."""
    if user_id:
        return marketing_allowed(profiles.get(user_id))
    return journey_settings.CONSENT_POLICY != "consent"


# Post-purchase ----------------------------------------------------------------------------------------------------
def post_purchase_key(order) -> str:
    return f"post_purchase:order:{order.pk}"


def post_purchase_voucher_key(order) -> str:
    return f"post_purchase:{order.number}"


def winback_voucher_key(message) -> str:
    """The key of a win-back mail's voucher: its message's id is part of it, because a customer's win-back subject
    and step repeat once the retention job has deleted their old mails (a new mail, a new voucher)."""
    return f"{message.subject_key}:{message.step}:message:{message.pk}"


def _is_first_order(order) -> bool:
    earlier = live_orders().filter(Q(date_placed__lt=order.date_placed) | Q(date_placed=order.date_placed,
                                                                             pk__lt=order.pk))
    if order.user_id:
        return not earlier.filter(user_id=order.user_id).exists()
    return not earlier.filter(user__isnull=True, guest_email__iexact=order.guest_email).exists()


def post_purchase_refusal(order, program, profiles=None) -> str:
    """Why ``order`` gets no post-purchase mail under ``program`` ("" when it does).  Cheap checks first."""
    if not program.is_active:
        return "the post-purchase program is turned off"
    if is_cancelled(order.status):
        return "the order was cancelled or refunded"
    if not (order.email or "").strip():
        return "the order has no email address"
    if order.total_incl_tax < program.min_order_total:
        return "the order is below the minimum order value"
    profiles = profiles if profiles is not None else profiles_for([order.user_id])
    if not marketing_ok(order.user_id, profiles):
        return "the customer has not consented to marketing mail"
    if program.first_order_only and not _is_first_order(order):
        return "not the customer's first order"
    return ""


def _loaded_profiles(order) -> dict[int, CustomerProfile]:
    """``profiles_for([order.user_id])`` from an order loaded with ``select_related("user__journey_profile")``."""
    if not order.user_id:
        return {}
    try:
        return {order.user_id: order.user.journey_profile}
    except CustomerProfile.DoesNotExist:
        return {}


def schedule_post_purchase(order, *, language="", program=None, profiles=None) -> bool:
    """Schedule ``order``'s thank-you mail if the program says so.  Idempotent (one INSERT … ON CONFLICT DO NOTHING
    on the outbox's unique subject): returns whether a mail was newly scheduled.  ``profiles``: the customer's
    profile as ``profiles_for`` returns it, if the caller has it."""
    program = program or PostPurchaseProgram.load()
    profiles = profiles_for([order.user_id]) if profiles is None else profiles
    reason = post_purchase_refusal(order, program, profiles)
    if reason:
        logger.debug("journey: no post-purchase mail for order %s: %s", order.number, reason)
        return False
    profile = profiles.get(order.user_id)
    return bool(outbox.schedule_many([outbox.NewMessage(
        kind=POST_PURCHASE, subject_key=post_purchase_key(order), step=0, to_email=order.email,
        due_at=order.date_placed + timedelta(hours=program.delay_hours), user_id=order.user_id,
        language=(profile.language if profile and profile.language else language) or "",
        context={"order_id": order.pk, "order_number": order.number},
    )]))


def on_order_placed(order_id, *, language=""):
    """An order was placed (called on commit): cancel the customer's pending win-back mail and schedule the
    post-purchase mail (four queries: the order with its customer and profile, the cancel, the program, the INSERT).
    ``language`` is the language the shopper checked out in.  Returns whether a post-purchase mail was newly
    scheduled."""
    order = Order.objects.select_related("user__journey_profile").filter(pk=order_id).first()
    if order is None:
        return None
    cancel_winback_for(order.user_id, order.email, reason="the customer ordered")
    return schedule_post_purchase(order, language=language, profiles=_loaded_profiles(order))


def on_order_status_changed(order_id, new_status) -> int:
    """The order's status changed: a cancelled or refunded order gets no thank-you mail.  Returns how many
    messages were cancelled (a mail already sent is left alone)."""
    if not is_cancelled(new_status):
        return 0
    return outbox.cancel(Message.objects.filter(subject_key=f"post_purchase:order:{order_id}", step=0),
                         "the order was cancelled or refunded")


# Win-back --------------------------------------------------------------------------------------------------------
def cancel_winback_for(user_id, email, *, reason) -> int:
    """Cancel the customer's scheduled win-back mail (by account, or by address for guests)."""
    who = Q(user_id=user_id) if user_id else Q(pk__in=[])
    email = suppression.normalize(email)
    if email:
        who |= Q(to_email=email)
    return outbox.cancel(Message.objects.filter(who, tool=WINBACK, state=Message.State.SCHEDULED), reason)


def _in_list(values):
    return ", ".join(["%s"] * len(values))


def winback_candidates_sql(program, now):
    """The one query selecting today's win-back recipients, and its parameters.

    Columns: subject_key, user_id, email, last_order_at, language, step.  A customer is a registered user
    (``winback:user:<user id>``) or, with ``include_guests``, a guest address (``winback:guest:<id of the address's
    first order>``; addresses of registered users are left to their account).  Selected when: their last
    order that counts is older than ``after_days``; no win-back mail for them was created in the last
    ``after_days``; fewer than ``mails_per_absence`` since that last order; the address is not suppressed; the
    consent policy allows marketing mail (a registered customer who ordered as a guest since is not lapsed).
    """
    Profile = CustomerProfile._meta.db_table
    User = get_user_model()
    users, orders = User._meta.db_table, Order._meta.db_table
    messages, suppressed = Message._meta.db_table, suppression.Suppression._meta.db_table
    ops = connection.ops
    cutoff = ops.adapt_datetimefield_value(now - timedelta(days=program.after_days))
    statuses = cancelled_statuses()
    live = f"LOWER(o.status) NOT IN ({_in_list(statuses)})" if statuses else "1 = 1"
    live_g = f"LOWER(g.status) NOT IN ({_in_list(statuses)})" if statuses else "1 = 1"
    if journey_settings.CONSENT_POLICY == "consent":
        consent = "p.marketing_consent = 'granted'"
    else:
        consent = f"(p.marketing_consent IS NULL OR p.marketing_consent <> '{CustomerProfile.Consent.WITHDRAWN}')"
    params = [*statuses, cutoff]
    branches = [
        f"""SELECT 'winback:user:' || u.id AS subject_key, u.id AS user_id, LOWER(TRIM(u.email)) AS email,
                   MAX(o.date_placed) AS last_order_at, COALESCE(MAX(p.language), '') AS language
            FROM {orders} o
            JOIN {users} u ON u.id = o.user_id
            LEFT JOIN {Profile} p ON p.user_id = u.id
            WHERE {live} AND u.is_active AND u.email <> '' AND {consent}
            GROUP BY u.id, u.email
            HAVING MAX(o.date_placed) < %s"""  # noqa: S608 - table names are ours, values are parameters
    ]
    if program.include_guests and journey_settings.CONSENT_POLICY != "consent":
        branches.append(
            f"""SELECT 'winback:guest:' || MIN(o.id), NULL, LOWER(TRIM(o.guest_email)), MAX(o.date_placed), ''
                FROM {orders} o
                WHERE o.user_id IS NULL AND o.guest_email <> '' AND {live}
                GROUP BY LOWER(TRIM(o.guest_email))
                HAVING MAX(o.date_placed) < %s"""  # noqa: S608 - table names are ours
        )
        params += [*statuses, cutoff]
    sql = f"""
        SELECT c.subject_key, c.user_id, c.email, c.last_order_at, c.language,
               COALESCE((SELECT MAX(m.step) FROM {messages} m WHERE m.subject_key = c.subject_key), 0) + 1 AS step
        FROM ({" UNION ALL ".join(branches)}) c
        WHERE c.email <> ''
          AND NOT EXISTS (SELECT 1 FROM {suppressed} s WHERE s.email = c.email)
          AND NOT EXISTS (SELECT 1 FROM {messages} m WHERE m.subject_key = c.subject_key AND m.created_at > %s)
          AND (SELECT COUNT(*) FROM {messages} m
               WHERE m.subject_key = c.subject_key AND m.created_at > c.last_order_at) < %s
          AND (c.user_id IS NOT NULL
               OR NOT EXISTS (SELECT 1 FROM {users} u2 WHERE LOWER(TRIM(u2.email)) = c.email))
          AND (c.user_id IS NULL
               OR NOT EXISTS (SELECT 1 FROM {orders} g WHERE g.user_id IS NULL AND g.date_placed >= %s
                              AND {live_g} AND LOWER(TRIM(g.guest_email)) = c.email))
        ORDER BY c.subject_key"""  # noqa: S608 - table names are ours, values are parameters
    params += [cutoff, program.mails_per_absence, cutoff, *statuses]
    return sql, params


def winback_candidates(program=None, *, now=None) -> list[dict]:
    program = program or WinbackProgram.load()
    sql, params = winback_candidates_sql(program, now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        value = row["last_order_at"]
        if isinstance(value, str):  # SQLite returns the aggregate as text
            from django.utils.dateparse import parse_datetime

            value = parse_datetime(value)
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
        row["last_order_at"] = value
    return rows


def schedule_winback(*, now=None) -> int:
    """Select today's win-back recipients and schedule their mails: two statements, idempotent, safe to run twice
    or concurrently (a PostgreSQL advisory lock serialises runs; the outbox's unique (subject_key, step) would
    drop a duplicate anyway).  Returns how many mails were scheduled."""
    program = WinbackProgram.load()
    if not program.is_active:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [WINBACK_LOCK])
        rows = winback_candidates(program, now=now)
        return outbox.schedule_many(
            [outbox.NewMessage(
                kind=WINBACK, subject_key=row["subject_key"], step=row["step"], to_email=row["email"], due_at=now,
                user_id=row["user_id"], language=row["language"] or "",
                context={"last_order_at": row["last_order_at"].isoformat() if row["last_order_at"] else None},
            ) for row in rows],
            now=now,
        )


def winback_job(via="tick"):
    """The ``schedule_winback_mails`` job (daily)."""
    return f"scheduled {schedule_winback()} win-back mail(s)"
