"""Privacy operations: retention windows, and erasing everything journey holds on one person.

Retention (a daily job, ``purge_old_data``): events older than ``EVENT_RETENTION_DAYS``, finished mails (and their
tracking events) older than ``MESSAGE_RETENTION_DAYS``, consent records older than ``CONSENT_RETENTION_DAYS``,
deleted in batches of ``RETENTION_BATCH_SIZE`` — safe to run twice or concurrently.  On PostgreSQL the events table
is partitioned by month (:mod:`journey.core.partitions`): the months entirely older than the cutoff are dropped
whole, only the month the cutoff falls in (and the DEFAULT partition) is deleted row by row.  A tool with rows of its
own to age out registers a *purger* from its ``connect()`` (insights: GA4 deliveries, with the events' window)::

    def purge_pings(now, batch):          # rows deleted, or None when its window is off
        return privacy.delete_in_batches(Ping.objects.filter(created_at__lt=now - timedelta(days=30)), batch)

    privacy.register_purger("pings", purge_pings)

Erasure (``manage.py journey_erase --email … | --user-id …``)::

    from journey.core import privacy
    counts = privacy.erase(email="ana@example.com", dry_run=True)   # {"events": 12, "messages": 3, …}

Every kind of data is removed by an *eraser*.  This module registers core's own (events, mails, tokens, personal
vouchers, consent records, suppression notes); each tool registers the erasers of its own tables from its
``<tool>/privacy.py``, connected by its ``tool.connect()`` (``journey.recovery.privacy``: basket activity;
``journey.related.privacy``: related clicks; ``journey.promotions.privacy``: campaign touches;
``journey.loyalty.privacy``: customer profiles, birthday rewards; ``journey.insights.privacy``: GA4 deliveries), and
host shops add theirs the same way::

    def erase_wishes(subject, *, dry_run):
        return privacy.count_or_delete(Wish.objects.filter(user_id__in=subject.user_ids), dry_run)

    privacy.register_eraser("wishes", erase_wishes)   # in your AppConfig.ready()

``subject`` is a :class:`Subject`: the e-mail addresses, user ids, visitor ids, order ids, basket ids, message ids
and voucher codes journey could link to the person.  A tool that knows more of them (recovery: the baskets of an
address) adds them with a *finder*, ``privacy.register_finder(label, func)``: ``func(subject)`` adds to the
subject's sets; finders run after the accounts, mails and orders are found, before the visitor ids.

Oscar's own records (orders, the user account) are the shop's, not journey's: they are not touched.  The
suppression list entry is kept on purpose (the address must never be mailed again — the legal reason for keeping
it); its note and link to a message are cleared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from oscar.core.loading import get_model

from ..conf import journey_settings
from . import partitions
from .consent import truncate_ip  # noqa: F401 - part of this module's API (stored addresses are truncated)

logger = logging.getLogger(__name__)


# Retention ------------------------------------------------------------------------------------------------
def delete_in_batches(queryset, batch) -> int:
    """Delete the rows of ``queryset`` ``batch`` at a time; the rows this call deleted (a concurrent run may take
    some first)."""
    total = 0
    model = queryset.model
    while True:
        ids = list(queryset.order_by().values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        # The queryset's own filter again: on the partitioned events table it limits the DELETE to the partitions
        # the filter covers (partition pruning) instead of probing every month's index for each id.
        _deleted, detail = queryset.filter(pk__in=ids).delete()
        # A concurrent run may have deleted some of them first: count only our own.
        total += detail.get(model._meta.label, 0)


def purge(now=None) -> dict:
    """Delete what is older than the retention windows; returns rows deleted per kind."""
    from .consent_models import ConsentRecord
    from .models import JourneyEvent, Message

    now = now or timezone.now()
    batch = max(1, int(journey_settings.RETENTION_BATCH_SIZE))
    counts = {}
    days = journey_settings.EVENT_RETENTION_DAYS
    if days:
        cutoff = now - timedelta(days=days)
        # PostgreSQL: whole months older than the cutoff are dropped (a partition each); the rest row by row.
        dropped, _names = partitions.drop_partitions_before(cutoff)
        counts["events"] = dropped + delete_in_batches(JourneyEvent.objects.filter(created_at__lt=cutoff), batch)
    days = journey_settings.MESSAGE_RETENTION_DAYS
    if days:
        cutoff = now - timedelta(days=days)
        finished = [Message.State.SENT, Message.State.CANCELLED, Message.State.FAILED, Message.State.SUPPRESSED]
        counts["messages"] = delete_in_batches(
            Message.objects.filter(created_at__lt=cutoff, state__in=finished), min(batch, 1000))
    days = journey_settings.CONSENT_RETENTION_DAYS
    if days:
        cutoff = now - timedelta(days=days)
        counts["consent records"] = delete_in_batches(ConsentRecord.objects.filter(created_at__lt=cutoff), batch)
    for label, func in _purgers.items():
        deleted = func(now, batch)
        if deleted is not None:
            counts[label] = int(deleted)
    return counts


Purger = Callable[..., "int | None"]
_purgers: dict[str, Purger] = {}


def register_purger(label: str, func: Purger, *, replace: bool = False) -> Purger:
    """Add a retention purger: ``func(now, batch) -> int | None`` (rows deleted; None: its window is off, not
    reported).  Registering the same label twice is an error unless ``replace``."""
    return _register(_purgers, "purger", label, func, replace)


def _register(registry, what, label, func, replace):
    if label in registry and not replace and registry[label] is not func:
        raise ValueError(f"A {what} labelled {label!r} is already registered.")
    registry[label] = func
    return func


def retention_job(via="tick") -> str:
    counts = purge()
    return ", ".join(f"{n} {label}" for label, n in counts.items()) or "nothing to do"


# Erasure --------------------------------------------------------------------------------------------------
@dataclass
class Subject:
    """Everything journey can link to one person (found by :func:`find_subject`)."""

    emails: set = field(default_factory=set)
    user_ids: set = field(default_factory=set)
    visitor_ids: set = field(default_factory=set)
    order_ids: set = field(default_factory=set)
    basket_ids: set = field(default_factory=set)
    message_ids: set = field(default_factory=set)
    voucher_codes: set = field(default_factory=set)

    @property
    def found(self) -> bool:
        return bool(self.user_ids or self.message_ids or self.basket_ids or self.order_ids or self.visitor_ids
                    or self.voucher_codes)

    def email_q(self, name):
        q = Q(pk__in=[])
        for email in self.emails:
            q |= Q(**{f"{name}__iexact": email})
        return q


def find_subject(email=None, user_id=None) -> Subject:
    from .consent_models import ConsentRecord
    from .models import JourneyEvent, Message, PersonalVoucher

    Order = get_model("order", "Order")
    Basket = get_model("basket", "Basket")
    User = get_user_model()
    subject = Subject()
    if email:
        subject.emails.add(email.strip().lower())
    users = User.objects.none()
    if email:
        users = User.objects.filter(email__iexact=email.strip())
    if user_id is not None:
        users = users | User.objects.filter(pk=user_id)
    for pk, user_email in users.values_list("pk", "email"):
        subject.user_ids.add(pk)
        if user_email:
            subject.emails.add(user_email.lower())
    users_q = Q(user_id__in=subject.user_ids)
    subject.message_ids = set(Message.objects.filter(subject.email_q("to_email") | users_q)
                              .values_list("pk", flat=True))
    subject.order_ids = set(Order.objects.filter(subject.email_q("guest_email") | users_q)
                            .values_list("pk", flat=True))
    for func in _finders.values():  # the tools' own links (recovery: the baskets of an address)
        func(subject)
    subject.basket_ids |= set(Basket.objects.filter(owner_id__in=subject.user_ids).values_list("pk", flat=True))
    subject.basket_ids |= set(Order.objects.filter(pk__in=subject.order_ids, basket_id__isnull=False)
                              .values_list("basket_id", flat=True))
    subject.voucher_codes = set(PersonalVoucher.objects.filter(subject.email_q("email") | users_q,
                                                               voucher__isnull=False)
                                .values_list("voucher__code", flat=True))
    linked = Q(user_id__in=subject.user_ids) | Q(order_id__in=subject.order_ids) | \
        Q(basket_id__in=subject.basket_ids)
    subject.visitor_ids = set(JourneyEvent.objects.filter(linked).exclude(visitor_id="")
                              .values_list("visitor_id", flat=True).distinct())
    subject.visitor_ids |= set(ConsentRecord.objects.filter(user_id__in=subject.user_ids).exclude(visitor_id="")
                               .values_list("visitor_id", flat=True))
    return subject


Finder = Callable[[Subject], None]
_finders: dict[str, Finder] = {}


def register_finder(label: str, func: Finder, *, replace: bool = False) -> Finder:
    """Add a finder: ``func(subject)`` adds what its tool links to the person (basket ids…) to ``subject``'s sets."""
    return _register(_finders, "finder", label, func, replace)


Eraser = Callable[..., int]
_erasers: dict[str, Eraser] = {}


def register_eraser(label: str, func: Eraser, *, replace: bool = False) -> Eraser:
    """Add an eraser: ``func(subject, *, dry_run) -> int`` (rows removed, or that would be).  Labels are shown in
    ``journey_erase``'s report; registering the same label twice is an error unless ``replace``."""
    return _register(_erasers, "eraser", label, func, replace)


def erasers() -> dict[str, Eraser]:
    return dict(_erasers)


def count_or_delete(queryset, dry_run) -> int:
    """The rows of ``queryset`` (counted on a dry run, else deleted): the usual body of an eraser."""
    if dry_run:
        return queryset.count()
    n = queryset.count()
    queryset.delete()
    return n


def erase(email=None, user_id=None, *, dry_run=False) -> dict:
    """Remove everything journey holds on a person; returns counts per kind (all zero for an unknown person)."""
    subject = find_subject(email=email, user_id=user_id)
    counts = {}
    with transaction.atomic():
        for label, func in _erasers.items():
            counts[label] = int(func(subject, dry_run=dry_run) or 0) if subject.found else 0
        if dry_run:
            transaction.set_rollback(True)
    return counts


# journey's own erasers (in the order they run) -----------------------------------------------------------
def _events(subject, *, dry_run):
    from . import events
    from .models import JourneyEvent

    mail_kinds = [events.Kind.MAIL_SENT, events.Kind.MAIL_OPENED, events.Kind.MAIL_CLICKED,
                  events.Kind.MESSAGE_SHOWN, events.Kind.MESSAGE_CLICKED, events.Kind.MESSAGE_DISMISSED]
    voucher_kinds = [events.Kind.VOUCHER_ISSUED, events.Kind.VOUCHER_REDEEMED]
    q = (Q(user_id__in=subject.user_ids) | Q(visitor_id__in=subject.visitor_ids) |
         Q(order_id__in=subject.order_ids) | Q(basket_id__in=subject.basket_ids) |
         Q(kind__in=mail_kinds, ref__in=[str(i) for i in subject.message_ids]) |
         Q(kind__in=voucher_kinds, ref__in=subject.voucher_codes))
    return count_or_delete(JourneyEvent.objects.filter(q), dry_run)


def _tracking_events(subject, *, dry_run):
    from .models import TrackingEvent

    return count_or_delete(TrackingEvent.objects.filter(Q(message_id__in=subject.message_ids) |
                                                         subject.email_q("recipient")), dry_run)


def _link_tokens(subject, *, dry_run):
    from .models import LinkToken

    q = Q(object_id__in=[str(i) for i in subject.message_ids], purpose__in=["recovery", "unsubscribe"])
    for email in subject.emails:
        q |= Q(data__email=email)
    return count_or_delete(LinkToken.objects.filter(q), dry_run)


def _messages(subject, *, dry_run):
    from .models import Message

    return count_or_delete(Message.objects.filter(pk__in=subject.message_ids), dry_run)


def _personal_vouchers(subject, *, dry_run):
    """The binding goes; the Oscar voucher then satisfies nobody's basket (PersonalValueCondition), and an unused
    one is also ended now."""
    from .models import PersonalVoucher

    qs = PersonalVoucher.objects.filter(subject.email_q("email") | Q(user_id__in=subject.user_ids))
    if not dry_run:
        Voucher = get_model("voucher", "Voucher")
        Voucher.objects.filter(pk__in=qs.values("voucher_id"), num_orders=0).update(end_datetime=timezone.now())
    return count_or_delete(qs, dry_run)


def _consent_records(subject, *, dry_run):
    from .consent_models import ConsentRecord

    return count_or_delete(ConsentRecord.objects.filter(Q(user_id__in=subject.user_ids) |
                                                         Q(visitor_id__in=subject.visitor_ids)), dry_run)


def _suppression(subject, *, dry_run):
    """Kept (the address must not be mailed again); only its note and message link are cleared.  Counted as
    "kept"."""
    from .models import Suppression

    qs = Suppression.objects.filter(subject.email_q("email"))
    if not dry_run:
        qs.update(note="", message=None)
    return qs.count()


for _label, _func in (
    ("events", _events),
    ("mail tracking events", _tracking_events),
    ("link tokens", _link_tokens),
    ("messages", _messages),
    ("personal vouchers", _personal_vouchers),
    ("consent records", _consent_records),
    ("suppression entries kept", _suppression),
):
    register_eraser(_label, _func)
