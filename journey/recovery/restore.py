"""Opening a restore link from a recovery mail: whose basket it is, where its lines go, the mail's discount.

    result = restore.open_link(request, token)
    result.outcome    # INVALID, ORDERED, WELCOME_BACK, UNAVAILABLE, SIGN_IN, OTHER_CUSTOMER or RESTORED
    result.dropped    # titles no longer for sale, removed from the basket (RESTORED)
    result.voucher    # what became of the mail's discount: "", VOUCHER_APPLIED, VOUCHER_EXPIRED, VOUCHER_REFUSED

The decision lives here once; ``recovery/views.py`` throttles, calls :func:`open_link` and turns the result into a
page or a redirect with messages.

* A basket with an owner opens only for that owner: anyone else is asked to sign in first (the token waits in the
  session under :data:`SESSION_KEY` for ``journey:restore-basket-continue``).
* A guest basket is moved, never shared: its lines go into this browser's own basket (the account's, the one Oscar's
  cookie holds, or a new one Oscar then gives the browser its cookie for — see :mod:`journey.core.baskets`), and the
  guest basket becomes MERGED, as at Oscar's login.  The device that built it (or whoever forwarded the link) keeps
  no view of what this visitor adds.  A signed-in customer whose address is not the mail's gets nothing.
* The lines are re-priced and what can no longer be bought is dropped; the mail's voucher is applied when it still
  can be.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from oscar.core.loading import get_model

from ..core import baskets, tokens, vouchers
from ..core.models import Message, PersonalVoucher
from . import services
from .models import BasketActivity

Basket = get_model("basket", "Basket")
Voucher = get_model("voucher", "Voucher")

#: A link waiting for its basket's owner to sign in.
SESSION_KEY = "journey_restore_token"
#: The guest baskets this browser restored (moved into its own basket): their links welcome it back.
RESTORED_KEY = "journey_restored_baskets"

INVALID = "invalid"                # unknown, tampered or expired link: one answer for all three
ORDERED = "ordered"                # the basket was ordered already
WELCOME_BACK = "welcome_back"      # this browser restored it already (the link's second use)
UNAVAILABLE = "unavailable"        # the basket is gone (merged elsewhere, or taken by another device)
SIGN_IN = "sign_in"                # an account's basket: its owner signs in first
OTHER_CUSTOMER = "other_customer"  # a guest basket mailed to someone else than the signed-in customer
RESTORED = "restored"              # the lines are in this browser's basket

VOUCHER_APPLIED = "applied"
VOUCHER_EXPIRED = "expired"
VOUCHER_REFUSED = "refused"        # the basket does not qualify for it


@dataclass(frozen=True)
class Restore:
    outcome: str
    basket: object = None      # the basket now holding the lines (RESTORED)
    dropped: tuple = ()        # titles removed because they can no longer be bought
    voucher: str = ""          # what became of the mail's voucher, "" without one
    voucher_code: str = ""


def open_link(request, token) -> Restore:
    """Follow the restore link ``token`` for this request's visitor: record the click and restore what may be."""
    link = tokens.resolve("recovery", token)
    message = Message.objects.filter(pk=link.object_id).first() if link else None
    activity = None
    if message is not None:
        activity = BasketActivity.objects.select_related("basket", "basket__owner").filter(
            pk=(message.context or {}).get("activity_id")
        ).first()
    if activity is None:
        return Restore(INVALID)
    services.record_click(message)
    return _restore(request, token, message, activity)


def _restore(request, token, message, activity) -> Restore:
    basket = activity.basket
    if basket.status == Basket.SUBMITTED:
        return Restore(ORDERED)
    if basket.status != Basket.OPEN:
        if basket.pk in request.session.get(RESTORED_KEY, []):
            return Restore(WELCOME_BACK)  # its lines are in this browser's basket already
        return Restore(UNAVAILABLE)

    if basket.owner_id:
        if not request.user.is_authenticated or request.user.pk != basket.owner_id:
            request.session[SESSION_KEY] = token  # never one person's basket in another's session
            return Restore(SIGN_IN)
        target = basket
    elif request.user.is_authenticated and (request.user.email or "").lower() != (activity.email or "").lower():
        return Restore(OTHER_CUSTOMER)
    else:
        target = request.basket
        if target.pk != basket.pk:
            was_empty = not target.pk or target.is_empty
            if not take_over_guest_basket(basket, target):
                return Restore(UNAVAILABLE)
            request.session[RESTORED_KEY] = [*request.session.get(RESTORED_KEY, [])[-9:], basket.pk]
            if was_empty:
                # This browser holds nothing but the mailed basket: its checkout may start with the address the mail
                # went to.  A basket that already held lines (someone else's link) gets no one else's address.
                services.prefill_guest_email(request, email=activity.email)

    target.strategy = request.strategy
    dropped = tuple(refresh_lines(target))
    voucher, code = _apply_voucher(target, (message.context or {}).get("voucher_id"), request)
    return Restore(RESTORED, target, dropped, voucher, code)


def _apply_voucher(basket, voucher_id, request):
    """(what became of the mail's voucher, its code)."""
    if not voucher_id:
        return "", ""
    voucher = Voucher.objects.filter(pk=voucher_id).first()
    if voucher is None or voucher.end_datetime <= timezone.now():
        return VOUCHER_EXPIRED, ""
    if vouchers.apply_to_basket(basket, voucher, request):
        return VOUCHER_APPLIED, voucher.code
    return VOUCHER_REFUSED, voucher.code


def refresh_lines(basket):
    """Re-price the lines at today's prices and drop what can no longer be bought.  Returns the dropped titles."""
    dropped = []
    for line in basket.all_lines():
        info = basket.strategy.fetch_for_product(line.product) if line.product_id else None
        if info is None or info.stockrecord is None or not info.availability.is_available_to_buy:
            dropped.append(line.product.get_title() if line.product_id else str(line))
            line.delete()
            continue
        if info.price.exists and (line.price_incl_tax != info.price.incl_tax or
                                  line.price_excl_tax != info.price.excl_tax):
            line.price_currency = info.price.currency
            line.price_excl_tax = info.price.excl_tax
            line.price_incl_tax = info.price.incl_tax if info.price.is_tax_known else info.price.excl_tax
            line.save(update_fields=["price_currency", "price_excl_tax", "price_incl_tax"])
    if dropped:
        basket.reset_offer_applications()
        basket._lines = None
    return dropped


def take_over_guest_basket(source, target):
    """Move the lines and vouchers of the guest basket ``source`` into ``target``, the basket of the browser that
    opened the restore link (its current basket, or a new one); ``source`` becomes MERGED, as at Oscar's login.

    Guest personal vouchers bound to ``source`` follow the lines to ``target``.  Returns False when ``source`` is
    no longer open (ordered, or merged by a concurrent click): nothing is moved then."""
    with transaction.atomic():
        locked = Basket.objects.select_for_update().filter(pk=source.pk, owner=None, status=Basket.OPEN).first()
        if locked is None:
            return False
        baskets.ensure_saved(target)
        target.merge(locked, add_quantities=False)
        PersonalVoucher.objects.filter(basket_id=locked.pk, user__isnull=True).update(basket_id=target.pk)
    target._lines = None
    return True
