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
"""

from django.dispatch import Signal

job_finished = Signal()
message_sent = Signal()
address_suppressed = Signal()
voucher_issued = Signal()
basket_recovered = Signal()
campaign_landed = Signal()
voucher_redeemed = Signal()
