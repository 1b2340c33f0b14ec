"""The post-purchase and win-back mails: their contexts, built at send time after checking the mail is still due.

Both kinds prepare a whole send batch at once (``MessageKind.prepare_batch``): a fixed number of queries for the
checks and the related products, plus the voucher service's few per mail, all vouchers of the batch in one
transaction (one commit, not one per voucher; if it fails the outbox builds the mails one by one).  The service is
idempotent per key, so a mail retried after a transient ESP error carries the same voucher.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db.models import Max, Prefetch
from django.db.models.functions import Lower
from django.utils.dateparse import parse_datetime
from oscar.core.loading import get_model

from ...core import outbox, vouchers
from ...core.outbox import MessageKind, NotEligible, register_kind
from ...related.api import related_for_baskets
from ..orders import is_cancelled, live_orders
from . import services as followups
from .models import PostPurchaseProgram, WinbackProgram
from .services import POST_PURCHASE, WINBACK

logger = logging.getLogger(__name__)
Order = get_model("order", "Order")
OrderLine = get_model("order", "Line")
RELATED_LIMIT = 4


class OrderItems:
    """An order seen as what ``related_for_baskets`` reads of a basket: its id and its lines' products."""

    def __init__(self, order):
        self.pk = order.pk
        self._lines = list(order.lines.all())

    def all_lines(self):
        return self._lines


def _related(orders):
    """Up to four products for each order ({order id: [Product]}); the thank-you mail goes out without them if the
    related-products tool fails."""
    if not orders:
        return {}
    try:
        return related_for_baskets([OrderItems(order) for order in orders], limit=RELATED_LIMIT)
    except Exception:
        logger.exception("journey: related products for post-purchase mails failed; sending without them")
        return {}


def shop_url():
    return outbox.absolute_url(str(getattr(settings, "OSCAR_HOMEPAGE", "/")))


def _common(program, voucher, message):
    return {
        "program": program, "voucher": voucher, "shop_name": settings.OSCAR_SHOP_NAME, "shop_url": shop_url(),
        "currency": settings.OSCAR_DEFAULT_CURRENCY, "is_guest": not message.user_id, "to_email": message.to_email,
    }


def _issue(program, purpose, wanted):
    """{key: PersonalVoucher} for [(key, message, user id or None)], issued in bulk (idempotent per key)."""
    return vouchers.issue_personal_vouchers(
        [vouchers.VoucherFor(key=key, email=message.to_email, user_id=user_id) for key, message, user_id in wanted],
        purpose=purpose, kind=program.discount_kind, value=program.discount_value, valid_days=program.valid_days,
        min_basket=program.min_basket,
    )


# Post-purchase ----------------------------------------------------------------------------------------------------
def prepare_post_purchase_batch(messages):
    """Contexts for a batch of thank-you mails: {message id: context or NotEligible}."""
    program = PostPurchaseProgram.load()
    order_ids = {(m.context or {}).get("order_id") for m in messages}
    lines = Prefetch("lines", queryset=OrderLine.objects.only("id", "order_id", "product_id").order_by("pk"))
    orders = Order.objects.select_related("user").prefetch_related(lines).in_bulk([i for i in order_ids if i])
    profiles = followups.profiles_for(o.user_id for o in orders.values())
    contexts, live = {}, []
    for message in messages:
        order = orders.get((message.context or {}).get("order_id"))
        if order is None:
            contexts[message.pk] = NotEligible("the order no longer exists")
        elif not program.is_active:
            contexts[message.pk] = NotEligible("the post-purchase program is turned off")
        elif is_cancelled(order.status):
            contexts[message.pk] = NotEligible("the order was cancelled or refunded")
        elif not followups.marketing_ok(order.user_id, profiles):
            contexts[message.pk] = NotEligible("the customer has not consented to marketing mail")
        else:
            live.append((message, order))
    related = _related([order for _m, order in live])
    keys = {message.pk: followups.post_purchase_voucher_key(order) for message, order in live}
    bindings = _issue(program, POST_PURCHASE, [(keys[message.pk], message, order.user_id) for message, order in live])
    for message, order in live:
        binding = bindings[keys[message.pk]]
        contexts[message.pk] = {
            **_common(program, binding.voucher, message), "order": order,
            "related_products": related.get(order.pk, []), "customer_name": _first_name(order.user),
        }
    return contexts


# Win-back ---------------------------------------------------------------------------------------------------------
def _last_orders(messages):
    """{("user", id) or ("email", address): date of the customer's last order that counts}: two queries."""
    user_ids = {m.user_id for m in messages if m.user_id}
    emails = {m.to_email for m in messages if not m.user_id}
    last = {}
    if user_ids:
        for row in live_orders().filter(user_id__in=user_ids).values("user_id").annotate(
                last=Max("date_placed")).order_by():
            last[("user", row["user_id"])] = row["last"]
    if emails:
        for row in live_orders().filter(user__isnull=True).annotate(address=Lower("guest_email")).filter(
                address__in=emails).values("address").annotate(last=Max("date_placed")).order_by():
            last[("email", row["address"])] = row["last"]
    return last


def _anchor(message) -> datetime | None:
    raw = (message.context or {}).get("last_order_at")
    return parse_datetime(raw) if raw else None


def prepare_winback_batch(messages):
    program = WinbackProgram.load()
    last = _last_orders(messages)
    profiles = followups.profiles_for(m.user_id for m in messages)
    contexts, live = {}, []
    for message in messages:
        who = ("user", message.user_id) if message.user_id else ("email", message.to_email)
        anchor = _anchor(message)
        if not program.is_active:
            contexts[message.pk] = NotEligible("the win-back program is turned off")
        elif last.get(who) and anchor and last[who] > anchor:
            contexts[message.pk] = NotEligible("the customer ordered")
        elif not followups.marketing_ok(message.user_id, profiles):
            contexts[message.pk] = NotEligible("the customer has not consented to marketing mail")
        else:
            live.append((message, anchor))
    keys = {message.pk: followups.winback_voucher_key(message) for message, _anchor in live}
    bindings = _issue(program, WINBACK, [(keys[message.pk], message, message.user_id) for message, _anchor in live])
    for message, anchor in live:
        contexts[message.pk] = {**_common(program, bindings[keys[message.pk]].voucher, message),
                                "last_order_at": anchor,
                                "customer_name": _first_name(message.user if message.user_id else None)}
    return contexts


def _first_name(user):
    return (getattr(user, "first_name", "") or "").strip() if user is not None else ""


register_kind(MessageKind(key=POST_PURCHASE, tool=POST_PURCHASE, template="journey/mail/post_purchase",
                          prepare_batch=prepare_post_purchase_batch,
                          tags=("post-purchase",), priority=40))
register_kind(MessageKind(key=WINBACK, tool=WINBACK, template="journey/mail/winback",
                          prepare_batch=prepare_winback_batch,
                          tags=("winback",), priority=60))
