"""The shopper's basket as journey's edges touch it: made real, its offers re-applied, a voucher's discount read.

Oscar keeps an anonymous shopper's basket in its signed cookie ``oscar_open_basket`` (``Signer().sign(basket_id)``):
``BasketMiddleware`` sets it on the response once ``request.basket`` has been saved, and loads that basket on the
next request.  Journey never writes or reads that cookie itself.  A view that must give the visitor a basket (a
campaign link, a code, a restore link) saves the request's own basket with :func:`ensure_saved` and Oscar hands the
browser its cookie; a basket from elsewhere (a mailed guest basket) is moved into that one, never pointed at, so a
forwarded link gives nobody a view of somebody else's basket.

Any journey code that applies a voucher re-applies offers through :func:`reapply_offers`: Oscar's ``VoucherAddView``
does not reset offer applications first, so an exclusive site offer applied earlier would swallow a valid voucher.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from oscar.core.loading import get_class


def ensure_saved(basket):
    """Save a basket that has no row yet (Oscar's middleware then gives the browser its cookie); returns it."""
    if not basket.pk:
        basket.save()
    return basket


def shopper(request=None, basket=None):
    """Whom Oscar applies offers for: the request's user, else the basket's owner, else an anonymous user (Oscar
    applies voucher offers only for a user, signed in or not)."""
    user = getattr(request, "user", None) or (basket.owner if basket is not None else None)
    return user if user is not None else AnonymousUser()


def reapply_offers(basket, user, request=None):
    """Forget the basket's offer applications and apply every offer again (site offers and its vouchers)."""
    basket.reset_offer_applications()
    get_class("offer.applicator", "Applicator")().apply(basket, user, request)


def voucher_discount(basket, voucher) -> Decimal | None:
    """The discount ``voucher`` gives ``basket`` as last applied, or None when it gives none."""
    for group in basket.grouped_voucher_discounts:
        if group["voucher"] and group["voucher"].pk == voucher.pk:
            return group["discount"]
    return None
