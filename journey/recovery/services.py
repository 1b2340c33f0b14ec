"""Abandoned-basket recovery: tracking basket activity, finding abandoned baskets, scheduling and stopping mails,
and attributing orders (restoring a basket from a mail link: :mod:`journey.recovery.restore`).

The hot path (a shopper changing a basket) costs one upsert; everything else runs in the periodic scan, which works
on batches of baskets with a fixed number of set-based queries per batch, so a scan over a million tracked baskets
stays fast and its memory bounded.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from oscar.core.loading import get_class, get_model

from .. import signals
from ..conf import journey_settings
from ..core import events, outbox, suppression
from ..core.models import Message
from ..core.reporting import store_time_zone
from .models import BasketActivity, RecoveryStep

logger = logging.getLogger(__name__)
Basket = get_model("basket", "Basket")
Line = get_model("basket", "Line")
Order = get_model("order", "Order")
State = BasketActivity.State
MAIL_KIND = "recovery.step"
SAVED_BASKET_KIND = "recovery.saved_basket"
SCAN_BATCH = 1000
LATE_SCAN_GRACE = timedelta(minutes=15)


# Activity (hot path) -------------------------------------------------------------------------------------------
_TOUCH_COLUMNS = (
    "basket_id", "user_id", "email", "email_source", "email_captured_at", "consent", "consent_text", "language",
    "last_activity_at", "state", "cycle", "stop_reason", "order_number", "created_at", "updated_at",
)


def touch(basket_id, *, owner=None, now=None):
    """Record that a basket changed: one statement (an upsert), so the storefront pays one query per change -- and
    during a request none of its own: it goes with the request's events (``events.write_with_events``; a basket
    changed several times in a request is written once, at its end).
    A basket that changes during its sequence goes back to 'active' (its pending mails are void, see recovery.mail),
    so the clock restarts; ``owner`` refreshes the account's email."""
    if not basket_id:
        return
    now = now or timezone.now()
    email = suppression.normalize(getattr(owner, "email", "") or "") if owner is not None else ""
    values = {
        "basket_id": basket_id, "user_id": owner.pk if email else None, "email": email,
        "email_source": BasketActivity.Source.ACCOUNT if email else "", "email_captured_at": now if email else None,
        "consent": False, "consent_text": "", "language": "", "last_activity_at": now, "state": State.ACTIVE,
        "cycle": 0, "stop_reason": "", "order_number": "", "created_at": now, "updated_at": now,
    }
    update = ["last_activity_at", "state", "updated_at"]
    if email:
        update += ["user_id", "email", "email_source", "email_captured_at"]
    quote = connection.ops.quote_name
    table, baskets = quote(BasketActivity._meta.db_table), quote(Basket._meta.db_table)
    # Written at the end of the request: the basket may be gone by then (deleted, its rows with it), hence EXISTS.
    sql = (
        f"INSERT INTO {table} ({', '.join(_TOUCH_COLUMNS)}) "  # noqa: S608 - names are ours
        f"SELECT {', '.join(['%s'] * len(_TOUCH_COLUMNS))} WHERE EXISTS (SELECT 1 FROM {baskets} WHERE id = %s) "
        f"ON CONFLICT (basket_id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in update)}"
    )
    field = BasketActivity._meta.get_field
    params = [field(c.removesuffix("_id") if c in ("basket_id", "user_id") else c).get_db_prep_value(values[c],
              connection) for c in _TOUCH_COLUMNS]
    events.write_with_events(f"recovery.touch:{basket_id}", sql, [*params, basket_id])


def prefill_guest_email(request, email=None):
    """Put ``email``, or else the address journey has for the request's basket (the "email me my basket" card, an
    earlier checkout, the address a recovery mail went to), into Oscar's checkout session as the guest's email, which
    Oscar's gateway form shows; an address the guest already gave in this session is kept.  Returns the address put
    in, or None."""
    basket = getattr(request, "basket", None)
    if basket is None or not basket.pk or not hasattr(request, "session"):
        return None
    checkout_session = get_class("checkout.utils", "CheckoutSessionData")(request)
    if checkout_session.get_guest_email():
        return None
    email = email or (BasketActivity.objects.filter(basket_id=basket.pk).exclude(email="")
                      .values_list("email", flat=True).first())
    if email:
        checkout_session.set_guest_email(email)
    return email or None


def capture_email(basket, email, source, *, consent=False, consent_text="", language="", now=None):
    """Remember the shopper's email for ``basket`` (guest checkout gateway, the basket form)."""
    if not basket.pk or not email:
        return None
    now = now or timezone.now()
    defaults = {"email": suppression.normalize(email), "email_source": source, "email_captured_at": now,
                "language": language or ""}
    if consent:
        defaults.update(consent=True, consent_text=consent_text, consent_at=now)
    activity, created = BasketActivity.objects.get_or_create(
        basket_id=basket.pk, defaults={**defaults, "last_activity_at": now}
    )
    if not created:
        BasketActivity.objects.filter(pk=activity.pk).exclude(state__in=[State.ORDERED, State.RECOVERED]).update(
            **defaults, state=State.ACTIVE
        )
        activity.refresh_from_db()
    return activity


# Eligibility (shared by the scan and the send-time re-check) ---------------------------------------------------
def _batch_reasons(activities, now) -> dict[int, str]:
    """For each activity id, why it must not be chased now ('' = eligible).  A fixed number of queries."""
    reasons = {a.pk: "" for a in activities}
    if not activities:
        return reasons
    basket_ids = [a.basket_id for a in activities]
    baskets = {b["id"]: b for b in Basket.objects.filter(id__in=basket_ids).values("id", "status")}
    lines = {
        row["basket_id"]: row
        for row in Line.objects.filter(basket_id__in=basket_ids).values("basket_id").annotate(
            n=Count("id"), total=Sum(F("price_incl_tax") * F("quantity"))
        )
    }
    user_ids = {a.user_id for a in activities if a.user_id}
    staff = set(get_user_model().objects.filter(id__in=user_ids, is_staff=True).values_list("id", flat=True))
    emails = {a.email for a in activities if a.email}
    suppressed = suppression.suppressed_among(emails)
    since = min(a.created_at for a in activities)
    ordered = Order.objects.filter(
        Q(user_id__in=user_ids) | Q(guest_email__in=emails) | Q(user__email__in=emails), date_placed__gte=since
    ).values_list("user_id", "guest_email", "user__email", "date_placed")
    last_order = {}
    for user_id, guest_email, user_email, placed in ordered:
        for key in (user_id, (guest_email or "").lower(), (user_email or "").lower()):
            if key and placed > last_order.get(key, datetime.min.replace(tzinfo=placed.tzinfo)):
                last_order[key] = placed
    cooldown_since = now - timedelta(days=journey_settings.RECOVERY_COOLDOWN_DAYS)
    chased = {}
    for email, basket_id, started in BasketActivity.objects.filter(
        email__in=emails, sequence_started_at__gte=cooldown_since
    ).values_list("email", "basket_id", "sequence_started_at"):
        chased.setdefault(email, []).append((basket_id, started))
    minimum = Decimal(str(journey_settings.RECOVERY_MIN_BASKET_TOTAL))
    policy = journey_settings.CONSENT_POLICY

    for a in activities:
        basket = baskets.get(a.basket_id)
        line = lines.get(a.basket_id)
        placed = max([last_order.get(k) for k in (a.user_id, a.email) if last_order.get(k)], default=None)
        if basket is None or basket["status"] != Basket.OPEN:
            reasons[a.pk] = "basket is no longer open"
        elif not line or not line["n"]:
            reasons[a.pk] = "basket is empty"
        elif (line["total"] or 0) < minimum:
            reasons[a.pk] = f"basket total below {minimum}"
        elif not a.email:
            reasons[a.pk] = "no email known"
        elif policy == "consent" and not a.consent:
            reasons[a.pk] = "no explicit consent (CONSENT_POLICY is 'consent')"
        elif a.user_id in staff:
            reasons[a.pk] = "staff account"
        elif a.email in suppressed:
            reasons[a.pk] = "address is on the suppression list"
        elif placed and placed >= a.created_at:
            reasons[a.pk] = "the customer has ordered since"
        elif a.state == State.ACTIVE and a.first_clicked_at and a.first_clicked_at >= cooldown_since:
            # A new sequence only: the running one goes on after a click, until the customer orders.
            reasons[a.pk] = "came back through a recovery mail recently"
        elif a.state == State.ACTIVE and any(basket_id != a.basket_id for basket_id, _s in chased.get(a.email, [])):
            reasons[a.pk] = f"chased within the last {journey_settings.RECOVERY_COOLDOWN_DAYS} days"
    return reasons


# The scan ------------------------------------------------------------------------------------------------------
@dataclass
class ScanReport:
    started: int = 0
    stopped: int = 0
    scheduled: int = 0

    def __str__(self):
        return f"{self.started} sequence(s) started ({self.scheduled} mails), {self.stopped} basket(s) not chased"


def _quiet(due, quiet_hours):
    """Move ``due`` out of the quiet hours (store time zone)."""
    if not quiet_hours:
        return due
    start, end = quiet_hours
    tz = store_time_zone()
    local = due.astimezone(tz)
    hour = local.hour
    in_quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not in_quiet:
        return due
    resume = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if resume <= local:
        resume += timedelta(days=1)
    return resume.astimezone(UTC)


def _schedule_batch(activities, steps, now, report):
    """Start the sequence of every eligible activity of the batch (rows locked by the caller), stop the others.
    Set-based: one eligibility pass, one insert of all the mails, one update per outcome."""
    reasons = _batch_reasons(activities, now)
    mails, started, stopped = [], [], {}
    first_delay = steps[0].delay if steps else timedelta(0)
    quiet = journey_settings.RECOVERY_QUIET_HOURS
    for a in activities:
        if reasons[a.pk] or not steps:
            stopped.setdefault(reasons[a.pk] or "no active recovery mail", []).append(a.pk)
            continue
        cycle = a.cycle + 1
        anchor = a.last_activity_at
        # A late scan (scheduler down for a while) shifts the whole sequence: the first mail now, the others keep
        # their spacing, rather than several mails at once.  The usual minute of lateness shifts nothing.
        late = now - (anchor + first_delay)
        shift = late if late > LATE_SCAN_GRACE else timedelta(0)
        context = {"activity_id": a.pk, "cycle": cycle, "anchor": anchor.isoformat()}
        for step in steps:
            mails.append(outbox.NewMessage(
                kind=MAIL_KIND, subject_key=f"recovery:basket:{a.basket_id}:cycle:{cycle}", step=step.position,
                to_email=a.email, user_id=a.user_id, language=a.language,
                due_at=_quiet(anchor + step.delay + shift, quiet), context={**context, "step_id": step.pk},
                channel=step.channel, address=a.onsite_address if step.channel == outbox.channels.ONSITE else "",
            ))
        started.append(a)
    outbox.schedule_many(mails, now=now)
    # Whatever an earlier cycle still had scheduled is void now.
    old_keys = [f"recovery:basket:{a.basket_id}:cycle:{a.cycle}" for a in started if a.cycle]
    if old_keys:
        outbox.cancel(Message.objects.filter(subject_key__in=old_keys), "the basket changed: the clock restarted")
    if started:
        BasketActivity.objects.filter(pk__in=[a.pk for a in started]).update(
            state=State.IN_SEQUENCE, cycle=F("cycle") + 1, sequence_anchor_at=F("last_activity_at"),
            sequence_started_at=now, stop_reason="",
        )
    for reason, pks in stopped.items():
        BasketActivity.objects.filter(pk__in=pks).update(state=State.STOPPED, stop_reason=reason[:200])
    report.started += len(started)
    report.stopped += sum(len(pks) for pks in stopped.values())
    report.scheduled += len(mails)


def scan(now=None, *, time_budget=None) -> ScanReport:
    """Find abandoned baskets and schedule their recovery mails.  Safe to run twice or concurrently."""
    now = now or timezone.now()
    report = ScanReport()
    cutoff = now - timedelta(minutes=journey_settings.RECOVERY_ABANDON_AFTER_MINUTES)
    steps = list(RecoveryStep.objects.filter(is_active=True).order_by("delay_minutes", "position"))
    deadline = time.monotonic() + (time_budget or 50)
    while time.monotonic() < deadline:
        with transaction.atomic():
            batch = list(
                BasketActivity.objects.select_for_update(skip_locked=True)
                .filter(state=State.ACTIVE, last_activity_at__lte=cutoff)
                .order_by("last_activity_at", "id")[:SCAN_BATCH]
            )
            if not batch:
                break
            _schedule_batch(batch, steps, now, report)
        if len(batch) < SCAN_BATCH:
            break
    return report


def scan_job(via="tick"):
    return str(scan())


# Orders --------------------------------------------------------------------------------------------------------
def on_order_placed(order_id):
    """The customer ordered: stop every recovery mail of theirs, and attribute the order to recovery when a recovery
    mail of theirs was clicked within RECOVERY_ATTRIBUTION_DAYS before it.  Returns the recovered activity or None."""
    order = Order.objects.filter(pk=order_id).select_related("user").first()
    if order is None:
        return None
    email = suppression.normalize(order.guest_email or (order.user.email if order.user_id else ""))
    customer = Q(basket_id=order.basket_id) if order.basket_id else Q(pk__in=[])
    if email:
        customer |= Q(email=email)
    if order.user_id:
        customer |= Q(user_id=order.user_id)
    open_states = [State.ACTIVE, State.IN_SEQUENCE, State.STOPPED]
    with transaction.atomic():
        activities = list(BasketActivity.objects.select_for_update().filter(customer))
        outbox.cancel(Message.objects.filter(subject_key__in=[a.subject_key for a in activities]),
                      "the customer ordered")
        window_start = order.date_placed - timedelta(days=journey_settings.RECOVERY_ATTRIBUTION_DAYS)
        clicked = [a for a in activities if not a.order_number and a.first_clicked_at
                   and window_start <= a.first_clicked_at <= order.date_placed]
        recovered = max(clicked, key=lambda a: a.first_clicked_at, default=None)
        done = {"ordered_at": order.date_placed, "order_number": order.number}
        BasketActivity.objects.filter(
            pk__in=[a.pk for a in activities if a.state in open_states and a is not recovered]
        ).update(state=State.ORDERED, **done)
        if recovered is None:
            return None
        BasketActivity.objects.filter(pk=recovered.pk).update(state=State.RECOVERED,
                                                              recovered_revenue=order.total_incl_tax, **done)
    recovered.refresh_from_db()
    signals.basket_recovered.send(sender=BasketActivity, activity=recovered, order=order)
    return recovered


def send_saved_basket(activity, now=None):
    """Schedule the "here is your basket" mail now (once per basket and address) and nudge a worker to send it."""
    if activity is None or suppression.is_suppressed(activity.email):
        return None
    message, created = outbox.schedule(
        kind=SAVED_BASKET_KIND, subject_key=f"recovery:saved:{activity.basket_id}:{activity.email}"[:128], step=0,
        to_email=activity.email, due_at=now or timezone.now(), user=activity.user, language=activity.language,
        context={"activity_id": activity.pk},
    )
    if created:
        outbox.send_soon(message.pk)
    return message


# A mail link was followed (journey.recovery.restore opens it) ------------------------------------------------
def record_click(message, now=None):
    """The message's first click, and the basket activity's."""
    now = now or timezone.now()
    Message.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=now)
    activity_id = (message.context or {}).get("activity_id")
    if activity_id:
        BasketActivity.objects.filter(pk=activity_id, first_clicked_at__isnull=True).update(first_clicked_at=now)
