"""Applying a discount code to a basket, and telling the shopper what happened.

Public API::

    from journey.promotions.apply import apply_code
    result = apply_code(request.basket, "SPRING10", request)
    result.applied        # True when the code now gives a discount
    result.status         # "applied", "expired", "invalid", "used", "sign_in", "not_qualifying", "empty"
    result.message        # what to tell the shopper ("10 % off applied", "This code has expired", …)

Unlike Oscar's ``VoucherAddView``, offer applications are reset before re-applying, so an exclusive site offer
applied earlier in the request does not swallow a valid code.  Unknown codes and personal codes of another
customer get the same answer ("This code is not valid"): the form must not tell a stranger whose codes exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from oscar.core.loading import get_class, get_model

from ..core import baskets
from ..core.reporting import percent

Voucher = get_model("voucher", "Voucher")
Benefit = get_model("offer", "Benefit")
voucher_addition = get_class("basket.signals", "voucher_addition")

APPLIED = "applied"
EXPIRED = "expired"
INVALID = "invalid"
USED = "used"
SIGN_IN = "sign_in"
NOT_QUALIFYING = "not_qualifying"
EMPTY = "empty"
#: The outcomes that count against the client's attempts (JOURNEY["CODE_RATE_LIMIT"]).
REFUSED = frozenset({INVALID, EXPIRED, USED})


@dataclass(frozen=True)
class CodeResult:
    status: str
    message: str
    voucher: object = None
    discount: Decimal = Decimal("0.00")

    @property
    def applied(self) -> bool:
        return self.status == APPLIED


def normalise(code) -> str:
    return " ".join(str(code or "").split()).upper()[:128]


def applied_message(voucher, discount, currency) -> str:
    """"10 % off applied" for a percentage code, "$5.00 off applied" otherwise."""
    from oscar.templatetags.currency_filters import currency as format_currency

    benefits = [offer.benefit for offer in voucher.offers.select_related("benefit")]
    if len(benefits) == 1 and benefits[0].type == Benefit.PERCENTAGE and not benefits[0].proxy_class:
        return _("%(percent)s %% off applied") % {"percent": percent(benefits[0].value)}
    return _("%(amount)s off applied") % {"amount": format_currency(discount, currency)}


def apply_code(basket, code, request=None) -> CodeResult:
    """Add the voucher ``code`` to ``basket`` and re-apply every offer; the result says what happened.

    ``basket`` needs its pricing strategy (``request.basket`` has it).  A code that gives no discount is taken
    out of the basket again, as Oscar does.
    """
    code = normalise(code)
    if not code:
        return CodeResult(EMPTY, _("Please enter a code."))
    user = baskets.shopper(request)
    voucher = Voucher.objects.filter(code=code).select_related("journey_binding").first()
    invalid = CodeResult(INVALID, _("This code is not valid."))
    if voucher is None:
        return invalid
    binding = getattr(voucher, "journey_binding", None)
    if binding is not None and (not basket.pk or not binding.allows(basket)):
        return invalid  # someone else's personal code: the same answer as an unknown one
    now = timezone.now()
    if voucher.end_datetime < now:
        return CodeResult(EXPIRED, _("This code has expired."), voucher)
    if voucher.start_datetime > now:
        return invalid
    available, _reason = voucher.is_available_to_user(user)
    if not available:
        if voucher.usage == Voucher.ONCE_PER_CUSTOMER and not user.is_authenticated:
            return CodeResult(SIGN_IN, _("Please sign in to use this code."), voucher)
        return CodeResult(USED, _("This code has already been used."), voucher)

    baskets.ensure_saved(basket)
    added = not basket.vouchers.filter(pk=voucher.pk).exists()
    if added:
        basket.vouchers.add(voucher)
        voucher_addition.send(sender=apply_code, basket=basket, voucher=voucher)
    baskets.reapply_offers(basket, user, request)
    discount = baskets.voucher_discount(basket, voucher)
    if discount is None:
        if added:
            basket.vouchers.remove(voucher)
            baskets.reapply_offers(basket, user, request)
        message = _("Your basket does not qualify for this code yet.")
        hint = _upsell(voucher, basket)
        return CodeResult(NOT_QUALIFYING, f"{message} {hint}".strip() if hint else message, voucher)
    return CodeResult(APPLIED, applied_message(voucher, discount, basket.currency), voucher, discount)


def _upsell(voucher, basket) -> str:
    for offer in voucher.offers.select_related("condition"):
        condition = offer.condition.proxy()
        try:
            offer.set_voucher(voucher)
            message = condition.get_upsell_message(offer, basket)
        except Exception:  # noqa: BLE001 - a hint is optional; custom conditions may not support it
            message = ""
        if message:
            return str(message)
    return ""
