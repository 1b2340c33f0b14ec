"""Thin receivers: record a fact or enqueue work on commit.  Connected in JourneyConfig.ready()."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from oscar.core.loading import get_class, get_classes, get_model

from ..signals import guest_checkout_gateway
from . import services

Line = get_model("basket", "Line")


def line_changed(sender, instance, raw=False, **kwargs):
    """A basket line was added, changed or removed (Oscar has no signal for removal): the basket changed."""
    if raw or not instance.basket_id:
        return
    basket = instance._state.fields_cache.get("basket")  # cached when Oscar's basket made the change
    services.touch(instance.basket_id, owner=basket.owner if basket is not None and basket.owner_id else None)


def voucher_changed(sender, basket, voucher, **kwargs):
    services.touch(basket.pk, owner=basket.owner if basket.owner_id else None)


def checkout_started(sender, request, email=None, **kwargs):
    """Oscar's checkout gateway sends the guest's email: the first moment a guest's address is known."""
    if not email:
        return
    basket = request.basket
    if basket.pk:
        services.capture_email(basket, email, services.BasketActivity.Source.CHECKOUT,
                               language=getattr(request, "LANGUAGE_CODE", ""))


def guest_at_gateway(sender, request, **kwargs):
    """A guest opens Oscar's checkout gateway: its email field gets the address journey has for the basket."""
    services.prefill_guest_email(request)


def order_placed(sender, order, user=None, **kwargs):
    """Sent inside the checkout's transaction: act once it has committed."""
    order_id = order.pk
    transaction.on_commit(lambda: services.on_order_placed(order_id))


def connect():
    voucher_addition, voucher_removal = get_classes("basket.signals", ["voucher_addition", "voucher_removal"])
    start_checkout = get_class("checkout.signals", "start_checkout")
    oscar_order_placed = get_class("order.signals", "order_placed")

    post_save.connect(line_changed, sender=Line, dispatch_uid="journey.recovery.line_saved")
    post_delete.connect(line_changed, sender=Line, dispatch_uid="journey.recovery.line_deleted")
    voucher_addition.connect(voucher_changed, dispatch_uid="journey.recovery.voucher_added")
    voucher_removal.connect(voucher_changed, dispatch_uid="journey.recovery.voucher_removed")
    start_checkout.connect(checkout_started, dispatch_uid="journey.recovery.start_checkout")
    oscar_order_placed.connect(order_placed, dispatch_uid="journey.recovery.order_placed")
    guest_checkout_gateway.connect(guest_at_gateway, dispatch_uid="journey.recovery.guest_checkout_gateway")
