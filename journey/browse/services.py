"""Browse abandonment: who gets a reminder of what they looked at, and when (see docs/browse.md).

A *known* shopper (signed in while browsing) who, within ``BROWSE_LOOKBACK_HOURS`` before the delay, looked at one
product ``min_product_views`` times or at ``min_category_products`` different products of one category, then looked
at nothing more and added nothing to a basket for ``delay_minutes``, gets **one** reminder (email or on-site) with
the products still public and available and related products — not when they ordered since, not while a recovery
sequence of theirs runs, at most once in ``once_every_days`` days.

The scan is set-based: one SQL statement over journey's own events finds the candidates (the events' indexes on
``(created_at, kind)`` and ``(user_id, created_at)`` serve it), then per chunk of candidates a fixed number of queries
checks the account, the consent, the suppression list and recovery, and one INSERT schedules the reminders.
Idempotent and safe to run twice or concurrently: a PostgreSQL advisory lock serialises runs, the outbox's unique
``(subject_key, step)`` drops a duplicate anyway (the subject is the person and their last counted view), and the
``BrowseReminder`` row of a person blocks the next reminder for ``once_every_days``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from oscar.core.loading import get_model

from ..conf import journey_settings
from ..core import audience, outbox, suppression
from ..core.events import Kind
from ..core.models import JourneyEvent
from ..core.outbox.channels.onsite import basket_address, user_address
from ..recovery.api import guest_contacts, people_in_open_sequence
from .models import BrowseProgram, BrowseReminder

logger = logging.getLogger(__name__)
Order = get_model("order", "Order")
Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")

TOOL = "browse"  # the registry key, the outbox messages' tool
MAIL_KIND = "browse.reminder"
SCAN_LOCK = 0x4A4F4201  # PostgreSQL advisory lock of the scan ("JOB" + 1)
CHUNK = 1000


@dataclass
class ScanReport:
    candidates: int = 0
    scheduled: int = 0
    skipped: int = 0

    def __str__(self):
        return f"{self.scheduled} browse reminder(s) scheduled, {self.skipped} shopper(s) left out"


def _aware(value):
    if isinstance(value, str):  # SQLite returns aggregates of datetimes as text
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def window(program, now):
    """The views the scan counts: ``(since, cutoff]`` — they must be at least the program's delay old."""
    cutoff = now - timedelta(minutes=program.delay_minutes)
    return cutoff - timedelta(hours=journey_settings.BROWSE_LOOKBACK_HOURS), cutoff


def candidates_sql(program, now, *, guests=False):
    """The one statement selecting the shoppers due a reminder, and its parameters.

    Columns: the person (``user_id``, or with ``guests`` the ``visitor_id`` of views made signed out), first_at
    (their first counted view), last_id (their last counted view's event id).  A shopper qualifies with one
    product viewed ``min_product_views`` times or ``min_category_products`` different products of one category (a
    variant counts in its parent's categories) among the views of ``(since, cutoff]``, and with no product view
    after ``cutoff`` (still browsing) and no basket addition since their first counted view; an account also with
    no order since then and no browse reminder in the last ``once_every_days`` days nor since that first view (a
    guest's orders and reminders are checked by address, per chunk).  The redundant ``> since`` bounds let
    PostgreSQL read those anti-joins from the events' ``(created_at, kind)`` index range instead of the whole
    table."""
    events, products = JourneyEvent._meta.db_table, Product._meta.db_table
    categories, orders = ProductCategory._meta.db_table, Order._meta.db_table
    reminders = BrowseReminder._meta.db_table
    ops = connection.ops
    since, cutoff = window(program, now)
    since_p, cutoff_p = ops.adapt_datetimefield_value(since), ops.adapt_datetimefield_value(cutoff)
    recent_p = ops.adapt_datetimefield_value(now - timedelta(days=program.once_every_days))
    who = "visitor_id" if guests else "user_id"
    known = "e.user_id IS NULL AND e.visitor_id <> ''" if guests else "e.user_id IS NOT NULL"
    account_only = "" if guests else f"""
          AND NOT EXISTS (SELECT 1 FROM {orders} o
                          WHERE o.user_id = pp.user_id AND o.date_placed >= pp.first_at AND o.date_placed > %s)
          AND NOT EXISTS (SELECT 1 FROM {reminders} r
                          WHERE r.user_id = pp.user_id AND (r.last_scheduled_at > %s
                                                            OR r.last_scheduled_at >= pp.first_at))"""  # noqa: S608
    sql = f"""
        WITH v AS (
            SELECT e.{who}, e.product_id, COUNT(*) AS n, MIN(e.created_at) AS first_at, MAX(e.id) AS last_id
            FROM {events} e
            WHERE e.created_at > %s AND e.created_at <= %s AND e.kind = %s
              AND {known} AND e.product_id IS NOT NULL
            GROUP BY e.{who}, e.product_id
        ),
        by_category AS (
            SELECT v.{who}
            FROM v
            JOIN {products} p ON p.id = v.product_id
            JOIN {categories} pc ON pc.product_id = COALESCE(p.parent_id, p.id)
            GROUP BY v.{who}, pc.category_id
            HAVING COUNT(DISTINCT v.product_id) >= %s
        ),
        people AS (
            SELECT v.{who}, MIN(v.first_at) AS first_at, MAX(v.last_id) AS last_id, MAX(v.n) AS top
            FROM v
            GROUP BY v.{who}
        )
        SELECT pp.{who}, pp.first_at, pp.last_id
        FROM people pp
        WHERE (pp.top >= %s OR pp.{who} IN (SELECT b.{who} FROM by_category b))
          AND NOT EXISTS (SELECT 1 FROM {events} x
                          WHERE x.{who} = pp.{who} AND x.created_at > %s AND x.kind = %s)
          AND NOT EXISTS (SELECT 1 FROM {events} x
                          WHERE x.{who} = pp.{who} AND x.created_at >= pp.first_at AND x.created_at > %s
                            AND x.kind = %s){account_only}
        ORDER BY pp.{who}"""  # noqa: S608 - table and column names are ours, values are parameters
    params = [since_p, cutoff_p, str(Kind.PRODUCT_VIEW), program.min_category_products, program.min_product_views,
              cutoff_p, str(Kind.PRODUCT_VIEW), since_p, str(Kind.BASKET_ADD)]
    if not guests:
        params += [since_p, recent_p]
    return sql, params


def viewed_products(people, since, cutoff, *, guests=False) -> dict:
    """The products each shopper (account ids, or visitor ids with ``guests``) looked at in ``(since, cutoff]``, most
    viewed (then most recent) first, at most ``BROWSE_MAX_PRODUCTS`` each.  One query (the events' person index)."""
    limit = journey_settings.BROWSE_MAX_PRODUCTS
    who = "visitor_id" if guests else "user_id"
    rows = JourneyEvent.objects.filter(**{f"{who}__in": people}, kind=Kind.PRODUCT_VIEW, created_at__gt=since,
                                       created_at__lte=cutoff, product_id__isnull=False)
    if guests:
        rows = rows.filter(user_id__isnull=True)
    rows = (rows.values(who, "product_id").annotate(n=Count("id"), last=Max("created_at"))
            .order_by(who, "-n", "-last", "product_id"))
    chosen: dict = {}
    for row in rows:
        products = chosen.setdefault(row[who], [])
        if len(products) < limit:
            products.append(row["product_id"])
    return chosen


def _schedule_chunk(rows, program, now, since, cutoff, report):
    user_ids = [row[0] for row in rows]
    users = {u["id"]: u for u in get_user_model().objects.filter(id__in=user_ids, is_active=True, is_staff=False)
             .exclude(email="").values("id", "email")}
    emails = {uid: suppression.normalize(u["email"]) for uid, u in users.items()}
    suppressed = suppression.suppressed_among(emails.values(), program.channel) if emails else set()
    allowed = audience.marketing_allowed_users(users)
    busy_users, busy_emails = people_in_open_sequence(user_ids=users, emails=emails.values())
    products = viewed_products(list(users), since, cutoff)
    languages = audience.languages_for(users)
    onsite = program.channel == outbox.channels.ONSITE
    mails, chosen = [], []
    for user_id, first_at, last_id in rows:
        email = emails.get(user_id)
        if (not email or email in suppressed or user_id not in allowed or user_id in busy_users
                or email in busy_emails or not products.get(user_id)):
            report.skipped += 1
            continue
        key = f"browse:user:{user_id}:{last_id}"
        mails.append(outbox.NewMessage(
            kind=MAIL_KIND, subject_key=key, step=0, to_email=email, due_at=now, user_id=user_id,
            language=languages.get(user_id, ""), channel=program.channel,
            address=user_address(user_id) if onsite else "",
            context={"user_id": user_id, "product_ids": products[user_id],
                     "since": _aware(first_at).isoformat()},
        ))
        chosen.append(BrowseReminder(user_id=user_id, last_scheduled_at=now, subject_key=key))
    report.scheduled += outbox.schedule_many(mails, now=now)
    if chosen:
        BrowseReminder.objects.bulk_create(chosen, update_conflicts=True, unique_fields=["user_id"],
                                           update_fields=["last_scheduled_at", "subject_key"])


def _guest_key(email):
    return hashlib.blake2b(email.encode(), digest_size=8).hexdigest()


def _schedule_guest_chunk(rows, program, now, since, cutoff, report):
    """Guests: a visitor is known by the address they gave for a basket (``recovery.api.guest_contacts``, with the
    consent the policy requires); an address of a registered account is left to the account.  Per chunk: the
    contacts, accounts, suppression, running recovery sequences, orders and reminders since, by address."""
    contacts = guest_contacts([row[0] for row in rows])
    emails = {suppression.normalize(c[0]) for c in contacts.values()}
    if not emails:
        report.skipped += len(rows)
        return
    accounts = {suppression.normalize(e) for e in get_user_model().objects.filter(email__in=emails)
                .values_list("email", flat=True)}
    suppressed = suppression.suppressed_among(emails, program.channel)
    _users, busy = people_in_open_sequence(emails=emails)
    earliest = min(_aware(row[1]) for row in rows)
    ordered = {}
    for email, placed in Order.objects.filter(guest_email__in=emails, date_placed__gte=earliest) \
            .values_list("guest_email", "date_placed"):
        email = suppression.normalize(email)
        ordered[email] = max(placed, ordered.get(email, placed))
    reminded = {}
    for email, at in BrowseReminder.objects.filter(user_id__isnull=True, email__in=emails) \
            .values_list("email", "last_scheduled_at"):
        reminded[email] = at
    recent = now - timedelta(days=program.once_every_days)
    products = viewed_products([row[0] for row in rows], since, cutoff, guests=True)
    onsite = program.channel == outbox.channels.ONSITE
    mails, chosen = [], {}
    for visitor, first_at, last_id in rows:
        first_at = _aware(first_at)
        contact = contacts.get(visitor)
        email = suppression.normalize(contact[0]) if contact else ""
        if (not email or email in accounts or email in suppressed or email in busy or email in chosen
                or (ordered.get(email) and ordered[email] >= first_at)
                or (reminded.get(email) and (reminded[email] > recent or reminded[email] >= first_at))
                or not products.get(visitor)):
            report.skipped += 1
            continue
        key = f"browse:guest:{_guest_key(email)}:{last_id}"
        mails.append(outbox.NewMessage(
            kind=MAIL_KIND, subject_key=key, step=0, to_email=email, due_at=now, language=contact[1] or "",
            channel=program.channel, address=basket_address(contact[2]) if onsite else "",
            context={"visitor_id": visitor, "email": email, "product_ids": products[visitor],
                     "since": first_at.isoformat()},
        ))
        chosen[email] = BrowseReminder(email=email, last_scheduled_at=now, subject_key=key)
    report.scheduled += outbox.schedule_many(mails, now=now)
    if chosen:
        BrowseReminder.objects.filter(user_id__isnull=True, email__in=chosen).delete()
        BrowseReminder.objects.bulk_create(chosen.values())


def scan(now=None) -> ScanReport:
    """Find the shoppers due a browse reminder and schedule one each.  Idempotent, safe to run twice or at once."""
    now = now or timezone.now()
    report = ScanReport()
    program = BrowseProgram.load()
    if not program.is_active:
        return report
    since, cutoff = window(program, now)
    sql, params = candidates_sql(program, now)
    with transaction.atomic():  # accounts first, then guests known by a basket's address
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCAN_LOCK])
                # The window's grouping sorts ~10^5 rows: keep it in memory rather than spilling to disk.
                cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        report.candidates = len(rows)
        for start in range(0, len(rows), CHUNK):
            _schedule_chunk(rows[start:start + CHUNK], program, now, since, cutoff, report)
        sql, params = candidates_sql(program, now, guests=True)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        report.candidates += len(rows)
        for start in range(0, len(rows), CHUNK):
            _schedule_guest_chunk(rows[start:start + CHUNK], program, now, since, cutoff, report)
        if connection.vendor == "postgresql" and report.scheduled > 10000:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {BrowseReminder._meta.db_table}")  # noqa: S608 - our table
    return report


def scan_job(via="tick"):
    """The ``scan_browse_abandonment`` job."""
    return str(scan())


# Send time --------------------------------------------------------------------------------------------------------
def still_due(people, now=None) -> dict:
    """For each ``{key: (user id or None, visitor id, email, since)}``, why its reminder must not go out any more
    ('' = it may): an order (by the account, or for a guest by the address) or a basket addition (by the account,
    or by the guest's visitor id) since ``since``, or a recovery sequence of theirs running now.  Four queries for
    a whole batch."""
    reasons = dict.fromkeys(people, "")
    if not people:
        return reasons
    user_ids = {uid for uid, _v, _e, _s in people.values() if uid}
    visitors = {v for uid, v, _e, _s in people.values() if not uid and v}
    emails = {e for uid, _v, e, _s in people.values() if not uid and e}
    earliest = min(since for *_rest, since in people.values())
    orders = Order.objects.filter(Q(user_id__in=user_ids) | Q(guest_email__in=emails), date_placed__gte=earliest)
    ordered = {}
    for uid, email, placed in orders.values_list("user_id", "guest_email", "date_placed"):
        for key in (uid, suppression.normalize(email or "")):
            if key:
                ordered[key] = max(placed, ordered.get(key, placed))
    adds = JourneyEvent.objects.filter(Q(user_id__in=user_ids) | Q(visitor_id__in=visitors, user_id__isnull=True),
                                       kind=Kind.BASKET_ADD, created_at__gte=earliest)
    added = {}
    for uid, visitor, at in adds.values_list("user_id", "visitor_id", "created_at"):
        key = uid or visitor
        added[key] = max(at, added.get(key, at))
    busy_users, busy_emails = people_in_open_sequence(user_ids=user_ids, emails=emails)
    for key, (uid, visitor, email, since) in people.items():
        who = uid or email
        if ordered.get(who) and ordered[who] >= since:
            reasons[key] = "the shopper ordered since"
        elif added.get(uid or visitor) and added[uid or visitor] >= since:
            reasons[key] = "the shopper added to a basket since"
        elif (uid and uid in busy_users) or (not uid and email in busy_emails):
            reasons[key] = "a recovery sequence of the shopper is running"
    return reasons
