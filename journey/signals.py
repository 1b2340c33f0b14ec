"""Signals journey sends, public API for host shops (connect with ``@receiver``).  All are sent by services.

``job_finished(sender=Job, job, outcome)``
    A periodic job ran (``outcome.state`` is "ran" or "failed").
``message_sent(sender=Message, message)``
    The ESP accepted a journey mail.
``address_suppressed(sender=Suppression, suppression)``
    An address was added to the suppression list (unsubscribe, bounce, complaint, invalid, staff).
``voucher_issued(sender=PersonalVoucher, personal_voucher)``
    The voucher service created a personal voucher (``personal_voucher.voucher`` is Oscar's Voucher).
``basket_recovered(sender=BasketActivity, activity, order)``
    An order was attributed to an abandoned-basket recovery mail.
``campaign_landed(sender=Campaign, campaign, request, utm)``
    A visitor arrived through a campaign link (``utm`` is a dict of the UTM parameters and click ids seen).
``voucher_redeemed(sender=PersonalVoucher, personal_voucher, order)``
    An order used a personal voucher.
``ecommerce_event(sender=None, name, ref, request)``
    A shopper's e-commerce action seen by the core's receivers during a request: ``name`` is its GA4 name
    (``view_item``, ``add_to_cart``, ``remove_from_cart``, ``begin_checkout``, ``purchase``), ``ref`` a small
    JSON-able reference (a product id; [product id, quantity]; [product id, quantity, unit price or None]; a basket
    id; an order id).  Sent only for real removals from the shopper's own basket, and ``purchase`` only on Oscar's
    ``post_checkout``.  Insights' GA4 queues them for the page (``journey.insights.receivers``).
``guest_checkout_gateway(sender=JourneyMiddleware, request)``
    Oscar's checkout gateway (``checkout:index``) is about to show its form to a visitor who is not signed in: a
    tool may put what it knows in Oscar's checkout session (recovery pre-fills the guest's email).  Sent robustly:
    a failing receiver is logged, the page still shows.
``request_captured(sender=JourneyMiddleware, request, response, capture)``
    The end of a request ``JourneyMiddleware`` captured, after its events were written: what a third-party tag
    queued on ``capture.queued`` and did not render on this response may go on to the next page here (GA4 keeps
    it in a short signed cookie).
"""

from django.dispatch import Signal

job_finished = Signal()
message_sent = Signal()
address_suppressed = Signal()
voucher_issued = Signal()
basket_recovered = Signal()
campaign_landed = Signal()
voucher_redeemed = Signal()
ecommerce_event = Signal()
guest_checkout_gateway = Signal()
request_captured = Signal()
