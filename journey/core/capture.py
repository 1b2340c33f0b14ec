"""Receivers that turn Oscar's and journey's signals into first-party events.

Connected in ``JourneyConfig.ready()``.  Thin: each builds one event from what the signal carries (no query on the
shopper's hot paths) and :func:`journey.core.events.record` buffers it on the request.  Each e-commerce action is
also announced with :data:`journey.signals.ecommerce_event` (insights turns them into GA4 events).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.utils.functional import SimpleLazyObject, empty
from oscar.core.loading import get_class, get_model

from .. import signals
from ..phases import Phase
from . import events
from .events import Kind

logger = logging.getLogger(__name__)
Line = get_model("basket", "Line")


def _announce(name, ref, request=None):
    signals.ecommerce_event.send(sender=None, name=name, ref=ref, request=request)


def _loaded_basket(request):
    """``request.basket`` if Oscar's middleware already loaded it, else None (never triggers the lazy load: a line
    deleted *while* the basket loads — a merge at login — must not re-enter it)."""
    basket = request.__dict__.get("basket") if request is not None else None
    if basket is None:
        return None
    if isinstance(basket, SimpleLazyObject):
        return None if basket._wrapped is empty else basket._wrapped
    return basket


def _quantity(request):
    try:
        return max(1, int(request.POST.get("quantity", 1)))
    except (TypeError, ValueError, AttributeError):
        return 1


def _price(line):
    price = getattr(line, "price_incl_tax", None)
    return price if price is not None else getattr(line, "price_excl_tax", None)


# Convince -------------------------------------------------------------------------------------------------
def product_viewed(sender, product, user=None, request=None, response=None, **kwargs):
    if request is None or getattr(response, "status_code", 200) >= 300:
        return
    events.record(Kind.PRODUCT_VIEW, request=request, tool="catalogue", product_id=product.pk)
    capture = getattr(request, events.CAPTURE_ATTR, None)
    if capture is not None:
        capture.objects[("product", product.pk)] = product
    _announce("view_item", product.pk, request)


# Sell -----------------------------------------------------------------------------------------------------
def basket_addition(sender, product, user=None, request=None, **kwargs):
    basket = _loaded_basket(request)
    quantity = _quantity(request)
    events.record(Kind.BASKET_ADD, request=request, tool="basket", product_id=product.pk,
                  basket_id=getattr(basket, "id", None), data={"quantity": quantity})
    _announce("add_to_cart", [product.pk, quantity], request)


def line_deleted(sender, instance, origin=None, **kwargs):
    """Oscar has no "removed from basket" signal: a basket line deleted in a shopper's request to his own open
    basket is a removal.  Not counted: lines moved by a basket merge (login) or "save for later", lines of a
    basket deleted as a whole, deletions outside a request (cleanup jobs)."""
    request = events.current_request()
    if request is None or request.method != "POST":
        return
    if isinstance(origin, get_model("basket", "Basket")):
        return  # the whole basket is being deleted
    basket = _loaded_basket(request)
    basket_id = getattr(basket, "id", None)
    if basket_id is None or basket_id != instance.basket_id:
        return
    if getattr(basket, "status", "Open") != "Open":
        return
    if any(key.endswith("save_for_later") and value in ("on", "true", "True", "1")
           for key, value in request.POST.items()):
        return
    quantity = instance.quantity
    price = _price(instance)
    value = price * quantity if price is not None and quantity else None
    events.record(Kind.BASKET_REMOVE, request=request, tool="basket", product_id=instance.product_id,
                  basket_id=basket_id, value=value, data={"quantity": quantity})
    _announce("remove_from_cart", [instance.product_id, quantity or 1, str(price) if price is not None else None],
         request)


def checkout_started(sender, request, email=None, **kwargs):
    basket = _loaded_basket(request)
    events.record(Kind.CHECKOUT_START, request=request, tool="checkout", basket_id=getattr(basket, "id", None),
                  data={"guest": True} if email else None)
    if basket is not None and basket.id:
        _announce("begin_checkout", basket.id, request)


def order_placed(sender, order, user=None, **kwargs):
    """Oscar's order_placed comes before the payment sources are saved; inside a request the event is written
    by post_checkout (or, for a checkout without it, at the end of the request) — outside one, on commit."""
    capture = events.current_capture()
    if capture is not None:
        capture.orders[order.pk] = order
        return
    order_id = order.pk
    transaction.on_commit(lambda: record_order(order_id))


def post_checkout(sender, order, user=None, request=None, response=None, **kwargs):
    capture = events.current_capture()
    if capture is not None:
        capture.orders.pop(order.pk, None)
    types = None
    if hasattr(sender, "_payment_sources"):  # Oscar's checkout view keeps the sources it saved
        sources = sender._payment_sources or ()
        types = sorted({getattr(getattr(s, "source_type", None), "code", "") or
                        getattr(getattr(s, "source_type", None), "name", "") for s in sources} - {""})
    _record_order(order, request=request, source_types=types)
    _announce("purchase", order.pk, request)


def record_order(order_id):
    order = get_model("order", "Order").objects.filter(pk=order_id).first()
    if order is not None:
        _record_order(order, request=None, immediate=True)


def _record_order(order, *, request, source_types=None, immediate=False):
    if source_types is None:
        source_types = sorted(set(order.sources.values_list("source_type__code", flat=True)) - {None, ""})
    data = {"number": order.number}
    if source_types:
        data["payment_source_types"] = source_types
    events.record(Kind.ORDER_PLACED, request=request, tool="checkout", order_id=order.pk,
                  basket_id=order.basket_id, user=order.user_id, value=order.total_incl_tax, ref=order.number,
                  data=data, immediate=immediate)


def finish_request(capture):
    """End of a request: orders placed without a post_checkout signal (custom checkouts) still get their event."""
    for order in list(capture.orders.values()):
        try:
            _record_order(order, request=capture.request)
        except Exception:  # noqa: BLE001
            logger.exception("journey: could not record order %s", order.pk)
    capture.orders.clear()


# Mail -----------------------------------------------------------------------------------------------------
def _tool_phase(tool_key):
    from ..exceptions import UnknownTool
    from .registry import registry

    try:
        return registry.get(tool_key).phases[0]
    except UnknownTool:
        return None


def message_sent(sender, message, **kwargs):
    events.record(Kind.MAIL_SENT, tool=message.tool, phase=_tool_phase(message.tool), visitor_id="", device="",
                  user=message.user_id, ref=str(message.pk), data={"kind": message.kind, "step": message.step})


def mail_tracked(message, event_type, when=None):
    """Called by journey.core.tracking for the first open / click of a message (the ESP reports each)."""
    kind = {"opened": Kind.MAIL_OPENED, "clicked": Kind.MAIL_CLICKED}.get(event_type)
    if kind is None:
        return
    events.record(kind, tool=message.tool, phase=_tool_phase(message.tool), visitor_id="", device="",
                  user=message.user_id, ref=str(message.pk), at=when, data={"kind": message.kind})


# Vouchers -------------------------------------------------------------------------------------------------
def voucher_issued(sender, personal_voucher, **kwargs):
    voucher = personal_voucher.voucher
    events.record(Kind.VOUCHER_ISSUED, tool=personal_voucher.purpose, visitor_id="", device="",
                  phase=_tool_phase(personal_voucher.purpose) or Phase.RETAIN, user=personal_voucher.user_id,
                  basket_id=personal_voucher.basket_id, ref=voucher.code if voucher else "",
                  data={"purpose": personal_voucher.purpose})


def connect():
    basket_addition_signal = get_class("basket.signals", "basket_addition")
    product_viewed_signal = get_class("catalogue.signals", "product_viewed")
    start_checkout = get_class("checkout.signals", "start_checkout")
    post_checkout_signal = get_class("checkout.signals", "post_checkout")
    order_placed_signal = get_class("order.signals", "order_placed")

    product_viewed_signal.connect(product_viewed, dispatch_uid="journey.events.product_viewed")
    basket_addition_signal.connect(basket_addition, dispatch_uid="journey.events.basket_addition")
    post_delete.connect(line_deleted, sender=Line, dispatch_uid="journey.events.line_deleted")
    start_checkout.connect(checkout_started, dispatch_uid="journey.events.start_checkout")
    order_placed_signal.connect(order_placed, dispatch_uid="journey.events.order_placed")
    post_checkout_signal.connect(post_checkout, dispatch_uid="journey.events.post_checkout")
    signals.message_sent.connect(message_sent, dispatch_uid="journey.events.message_sent")
    signals.voucher_issued.connect(voucher_issued, dispatch_uid="journey.events.voucher_issued")
    # Redemptions are recorded by the voucher service itself (journey.core.vouchers), with the discount as value.
