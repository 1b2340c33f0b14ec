"""The public Python API of promotions: the only module of this package other tools (and a host shop) import.

    from journey.promotions import api

    api.apply_code(request.basket, "SPRING10", request)   # a discount code -> CodeResult (applied, status, message)
    api.held_campaign(request)                            # the campaign discount a link left for this visitor, or None
    api.apply_pending(request)                            # put that discount in the basket now (done at the first
                                                          # basket addition by promotions' own receiver)
    api.create_campaign(name="Summer", slug="summer", value=10, channel="facebook")
    api.share_url(campaign)                               # the link for the ad, with its UTM values
    api.hints_for_product(product, basket)                # "Add 1 more for 15 % off", one Hint per live promotion
    api.hints_for_basket(basket)

Models (``Campaign``, ``QuantityPromotion`` …) are importable from ``journey.models``.
"""

from .apply import CodeResult, apply_code
from .campaigns.landing import PENDING_KEY, apply_pending, share_url
from .campaigns.lifecycle import create_campaign
from .campaigns.models import Campaign
from .quantity.hints import Hint, hints_for_basket, hints_for_product

__all__ = [
    "CodeResult",
    "Hint",
    "apply_code",
    "apply_pending",
    "create_campaign",
    "held_campaign",
    "hints_for_basket",
    "hints_for_product",
    "share_url",
]


def held_campaign(request):
    """The campaign whose discount a campaign link holds in this visitor's session (not yet in a basket), or None."""
    session = getattr(request, "session", None)
    pk = session.get(PENDING_KEY) if session is not None else None
    return Campaign.objects.filter(pk=pk).first() if pk else None
