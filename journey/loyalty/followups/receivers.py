"""Thin receivers for the post-purchase and win-back programs: enqueue on commit.  Connected in JourneyConfig.ready().

A failure here must never break a checkout (the order is already committed): it is logged, and the win-back job
and the send-time checks keep the programs right.
"""

import logging

from django.db import transaction
from django.utils import translation
from oscar.core.loading import get_class

logger = logging.getLogger(__name__)


def _safely(func, *args, **kwargs):
    def run():
        try:
            func(*args, **kwargs)
        except Exception:
            logger.exception("journey: %s failed", func.__name__)

    return run


def order_placed(sender, order, user=None, **kwargs):
    """Sent inside the checkout's transaction: act once it has committed, in the language the shopper used."""
    from . import services as followups

    transaction.on_commit(_safely(followups.on_order_placed, order.pk, language=translation.get_language() or ""))


def order_status_changed(sender, order, old_status=None, new_status=None, **kwargs):
    from .. import orders
    from . import services as followups

    if orders.is_cancelled(new_status):
        transaction.on_commit(_safely(followups.on_order_status_changed, order.pk, new_status))


def connect():
    oscar_order_placed = get_class("order.signals", "order_placed")
    oscar_order_status_changed = get_class("order.signals", "order_status_changed")
    oscar_order_placed.connect(order_placed, dispatch_uid="journey.loyalty.followups.order_placed")
    oscar_order_status_changed.connect(order_status_changed, dispatch_uid="journey.loyalty.followups.status_changed")
