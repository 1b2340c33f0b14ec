"""Insights' receivers: GA4 hears the shop through signals (the core names no tool), wired by ``tool.connect()``.

* ``journey.signals.ecommerce_event`` → the GA4 event is queued for the page (:func:`ga4.queue`);
* ``journey.signals.request_captured`` → what the page did not render goes on to the next one (:func:`ga4.carry_over`);
* Oscar's ``post_checkout`` → the server-side purchase (Measurement Protocol), once per order;
* Oscar's ``order_status_changed`` to a refund status → the server-side refund.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from oscar.core.loading import get_class

from .. import signals
from ..conf import journey_settings
from ..core import consent
from . import ga4
from .ga4_models import GA4Delivery
from .tasks import ga4_send

logger = logging.getLogger(__name__)


def ecommerce_event(sender, name, ref, request=None, **kwargs):
    ga4.queue(name, ref, request=request)


def request_captured(sender, request, response, capture, **kwargs):
    ga4.carry_over(request, response, capture)


def schedule(order_id, kind, client_id) -> bool:
    """Create the delivery row (once per order and kind) and send it from a Celery task after commit."""
    if not ga4.mp_configured() or not client_id:
        return False
    try:
        with transaction.atomic():
            delivery = GA4Delivery.objects.create(order_id=order_id, kind=kind, client_id=client_id)
    except IntegrityError:
        return False  # already scheduled (or sent) for this order
    transaction.on_commit(lambda: _enqueue(delivery.pk))
    return True


def _enqueue(delivery_id):
    try:
        ga4_send.delay(delivery_id)
    except Exception:  # noqa: BLE001 - the broker is down: the periodic job sends it
        logger.warning("journey: GA4 delivery %s left for the periodic job", delivery_id, exc_info=True)


def post_checkout(sender, order, user=None, request=None, response=None, **kwargs):
    """Schedule the server-side purchase when configured and the shopper allowed analytics."""
    if ga4.mp_configured() and consent.allows(request, consent.ANALYTICS):
        schedule(order.pk, "purchase", ga4.client_id_for(request))


def order_status_changed(sender, order, old_status=None, new_status=None, **kwargs):
    """A refund status (``JOURNEY["GA4_REFUND_STATUSES"]``) sends a refund for an order whose purchase was sent."""
    if new_status not in set(journey_settings.GA4_REFUND_STATUSES) or not ga4.mp_configured():
        return
    purchase_row = GA4Delivery.objects.filter(order_id=order.pk, kind="purchase").first()
    if purchase_row is not None:
        schedule(order.pk, "refund", purchase_row.client_id)


def connect():
    signals.ecommerce_event.connect(ecommerce_event, dispatch_uid="journey.ga4.ecommerce_event")
    signals.request_captured.connect(request_captured, dispatch_uid="journey.ga4.request_captured")
    get_class("checkout.signals", "post_checkout").connect(post_checkout, dispatch_uid="journey.ga4.post_checkout")
    get_class("order.signals", "order_status_changed").connect(
        order_status_changed, dispatch_uid="journey.ga4.order_status_changed")
