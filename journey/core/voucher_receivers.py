"""Receivers of the voucher service: order placement checks the journey vouchers in the basket."""

from django.db.models.signals import post_save
from oscar.core.loading import get_model

from . import vouchers


def order_saved(sender, instance, created, raw=False, **kwargs):
    if raw or not created:
        return
    vouchers.guard_order(instance)


def connect():
    post_save.connect(order_saved, sender=get_model("order", "Order"), dispatch_uid="journey.vouchers.order_saved")
