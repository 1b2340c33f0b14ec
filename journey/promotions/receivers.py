"""Campaign receivers: a discount held from a campaign link goes into the basket at the first addition."""

from oscar.core.loading import get_class

from .campaigns.landing import apply_pending


def on_basket_addition(sender, request=None, **kwargs):
    if request is not None:
        apply_pending(request)


def connect():
    get_class("basket.signals", "basket_addition").connect(on_basket_addition,
                                                           dispatch_uid="journey.promotions.pending_campaign")
