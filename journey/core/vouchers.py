"""The voucher service: personal, single-use Oscar vouchers bound to one customer.

Everything is ordinary Oscar: a VOUCHER-type ConditionalOffer (shared by every voucher of the same terms), a
Condition, a Benefit and one single-use Voucher per customer, so Oscar's basket, checkout, dashboard and reports
work unchanged.  The binding to the customer is journey's ``PersonalVoucher`` row, enforced twice:

- at apply time by the offer's condition (``PersonalValueCondition``): Oscar evaluates it wherever it applies
  offers (basket, checkout), so nobody else's basket qualifies;
- at order placement by :func:`guard_order` (connected to ``Order`` ``post_save``, inside ``OrderCreator``'s
  transaction): an order whose customer is not the voucher's is refused, and every single-use voucher gets a
  unique ``VoucherRedemption`` row, so of two checkouts placing orders with the same code at once exactly one
  succeeds (django-oscar #2101 locks the voucher in one path; #4580, the missing constraint, is still open).

Issuing is idempotent per ``key`` (one voucher per purpose, customer and period), also under concurrency.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext
from oscar.core.loading import get_class, get_model

from .. import signals
from ..conf import journey_settings
from ..exceptions import InvalidTerms, JourneyError, VoucherNotRedeemable
from . import baskets
from .analyze import analyze_after_bulk_write
from .models import PersonalValueCondition, PersonalVoucher, VoucherRedemption

logger = logging.getLogger(__name__)

ConditionalOffer = get_model("offer", "ConditionalOffer")
Condition = get_model("offer", "Condition")
Benefit = get_model("offer", "Benefit")
Range = get_model("offer", "Range")
Voucher = get_model("voucher", "Voucher")
OrderDiscount = get_model("order", "OrderDiscount")
get_unused_code = get_class("voucher.utils", "get_unused_code")

PERCENTAGE = "percentage"
FIXED = "fixed"
RANGE_NAME = "journey: all products"


#: purpose -> registry key of the tool that issues vouchers for it (the tool credited with a redemption).
_PURPOSE_TOOLS: dict[str, str] = {}


def register_purpose(purpose: str, tool: str) -> None:
    """Credit redemptions of ``purpose`` vouchers to ``tool`` (default: the tool whose key is the purpose)."""
    _PURPOSE_TOOLS[purpose] = tool


def tool_for_purpose(purpose: str) -> str:
    return _PURPOSE_TOOLS.get(purpose, purpose.split(":", 1)[0])


def personal_key(purpose: str, customer, period="") -> str:
    """The idempotency key of one voucher for ``customer`` (a user, an email or a basket id) and ``purpose``."""
    who = f"user:{customer.pk}" if hasattr(customer, "pk") else str(customer).strip().lower()
    return f"{purpose}:{who}:{period}"[:128]


def validate_terms(kind: str, value, min_basket=Decimal("0")):
    value, min_basket = Decimal(value), Decimal(min_basket or 0)
    if kind not in (PERCENTAGE, FIXED):
        raise InvalidTerms(f"Unknown discount kind {kind!r}")
    if value <= 0 or (kind == PERCENTAGE and value > 100):
        raise InvalidTerms("A percentage must be in (0, 100] and an amount above 0.")
    if min_basket < 0:
        raise InvalidTerms("The minimum basket value cannot be negative.")
    return value, min_basket


def all_products_range():
    """journey's private Oscar range of every product (campaign discounts and personal vouchers share it)."""
    product_range, _created = Range.objects.get_or_create(
        name=RANGE_NAME, defaults={"includes_all_products": True, "is_public": False}
    )
    return product_range


def offer_for_terms(purpose: str, kind: str, value, min_basket=Decimal("0")):
    """The shared VOUCHER offer for these terms (created once)."""
    value, min_basket = validate_terms(kind, value, min_basket)
    amount = f"{value.normalize():f}{' %' if kind == PERCENTAGE else ''}"
    name = f"journey {purpose}: {amount} off" + (f" over {min_basket.normalize():f}" if min_basket else "")
    offer = ConditionalOffer.objects.filter(name=name).first()
    if offer:
        return offer
    product_range = all_products_range()
    try:
        with transaction.atomic():
            condition = Condition.objects.create(
                range=product_range, type=Condition.VALUE, value=max(min_basket, Decimal("0.01")),
                proxy_class=f"{PersonalValueCondition.__module__}.{PersonalValueCondition.__name__}",
            )
            benefit = Benefit.objects.create(
                range=product_range, type=Benefit.PERCENTAGE if kind == PERCENTAGE else Benefit.FIXED, value=value
            )
            return ConditionalOffer.objects.create(
                name=name, slug=None, offer_type=ConditionalOffer.VOUCHER, condition=condition, benefit=benefit,
                exclusive=False, description=f"Personal vouchers issued by journey ({purpose}).",
            )
    except IntegrityError:  # another process created it first
        return ConditionalOffer.objects.get(name=name)


def issue_personal_voucher(*, key: str, purpose: str, kind: str, value, valid_days: int, min_basket=Decimal("0"),
                           email="", user=None, basket_id=None, now=None) -> PersonalVoucher:
    """Issue (or return the already issued) single-use voucher for one customer.  Idempotent on ``key``."""
    if not (email or user or basket_id):
        raise InvalidTerms("A personal voucher needs a customer: an email, a user or a basket.")
    if int(valid_days) <= 0:
        raise InvalidTerms("A personal voucher must be valid for at least one day.")
    existing = PersonalVoucher.objects.select_related("voucher").filter(key=key).first()
    if existing and existing.voucher_id:
        return existing
    offer = offer_for_terms(purpose, kind, value, min_basket)
    now = now or timezone.now()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                # Insert the binding first: a concurrent call with the same key blocks on the unique index here
                # until the first one commits, and then fails with IntegrityError.
                binding = PersonalVoucher.objects.create(
                    key=key, purpose=purpose, email=(email or "").lower(), user=user, basket_id=basket_id
                )
                voucher = Voucher.objects.create(
                    name=f"journey {purpose} {key}"[:128], code=get_unused_code(length=12),
                    usage=Voucher.SINGLE_USE, start_datetime=now, end_datetime=now + timedelta(days=int(valid_days)),
                )
                voucher.offers.add(offer)
                binding.voucher = voucher
                binding.save(update_fields=["voucher"])
        except IntegrityError:
            existing = PersonalVoucher.objects.select_related("voucher").filter(key=key).first()
            if existing is not None:
                return existing
            continue  # the random code collided with one made at the same moment: draw another
        signals.voucher_issued.send(sender=PersonalVoucher, personal_voucher=binding)
        return binding
    raise JourneyError(f"Could not issue a voucher for {key!r}: no unused code found.")


def apply_to_basket(basket, voucher, request=None) -> bool:
    """Add ``voucher`` to ``basket`` and re-apply offers; True if it gives a discount.

    Resets offer applications first: Oscar's VoucherAddView does not, so an exclusive site offer applied
    earlier would swallow a valid voucher.
    """
    user = request.user if request is not None else None
    if not voucher.is_active() or (user is not None and not voucher.is_available_to_user(user)[0]):
        return False
    baskets.ensure_saved(basket)
    if not basket.contains_voucher(voucher.code):
        basket.vouchers.add(voucher)
    baskets.reapply_offers(basket, user, request)
    applied = baskets.voucher_discount(basket, voucher) is not None
    if not applied:
        basket.vouchers.remove(voucher)
        baskets.reapply_offers(basket, user, request)
    return applied


@dataclass(frozen=True)
class VoucherFor:
    """One customer to issue a personal voucher to (see issue_personal_vouchers)."""

    key: str
    email: str = ""
    user_id: int | None = None
    basket_id: int | None = None


def _unused_codes(count: int) -> list[str]:
    """``count`` distinct codes in Oscar's format that no voucher has (one query per round of collisions)."""
    generate_code = get_class("voucher.utils", "generate_code")
    codes: set[str] = set()
    while len(codes) < count:
        fresh = {generate_code(12).upper() for _ in range(count - len(codes))} - codes
        codes |= fresh - set(Voucher.objects.filter(code__in=fresh).values_list("code", flat=True))
    return list(codes)


def issue_personal_vouchers(wanted, *, purpose: str, kind: str, value, valid_days: int, min_basket=Decimal("0"),
                            now=None) -> dict[str, PersonalVoucher]:
    """Issue many personal vouchers of the same terms at once: {key: PersonalVoucher}.

    The batch form of :func:`issue_personal_voucher` (same vouchers, same idempotency per key, also against a
    concurrent caller) with a fixed number of queries: bindings inserted first with ``ON CONFLICT DO NOTHING``
    (a concurrent caller with the same keys waits and then skips them), codes checked in one query, vouchers,
    their offer links and the bindings' voucher ids written in bulk.  ``voucher_issued`` is sent for each new one."""
    from . import events

    with events.buffered():  # one INSERT for the "voucher issued" events of the batch
        return _issue_personal_vouchers(list(wanted), purpose=purpose, kind=kind, value=value,
                                        valid_days=valid_days, min_basket=min_basket, now=now)


def _issue_personal_vouchers(wanted, *, purpose, kind, value, valid_days, min_basket, now):
    if not wanted:
        return {}
    for item in wanted:
        if not (item.email or item.user_id or item.basket_id):
            raise InvalidTerms("A personal voucher needs a customer: an email, a user or a basket.")
    keys = [item.key for item in wanted]
    result = {b.key: b for b in PersonalVoucher.objects.select_related("voucher").filter(key__in=keys,
                                                                                         voucher__isnull=False)}
    todo = [item for item in wanted if item.key not in result]
    if not todo:
        return result
    offer = offer_for_terms(purpose, kind, value, min_basket)
    now = now or timezone.now()
    through = Voucher.offers.through
    link = {Voucher.offers.field.m2m_field_name(): None, Voucher.offers.field.m2m_reverse_field_name(): offer}
    with transaction.atomic():
        PersonalVoucher.objects.bulk_create([
            PersonalVoucher(key=item.key, purpose=purpose, email=(item.email or "").lower(), user_id=item.user_id,
                            basket_id=item.basket_id) for item in todo
        ], ignore_conflicts=True, batch_size=1000)
        # Ours: the rows without a voucher (a binding always gets its voucher in the transaction that made it).
        mine = list(PersonalVoucher.objects.select_for_update().filter(key__in=[i.key for i in todo],
                                                                       voucher__isnull=True).order_by("pk"))
        codes = _unused_codes(len(mine))
        created = Voucher.objects.bulk_create([
            Voucher(name=f"journey {purpose} {binding.key}"[:128], code=code, usage=Voucher.SINGLE_USE,
                    start_datetime=now, end_datetime=now + timedelta(days=valid_days))
            for binding, code in zip(mine, codes, strict=True)
        ], batch_size=1000)
        through.objects.bulk_create([through(**{**link, Voucher.offers.field.m2m_field_name(): voucher})
                                     for voucher in created], batch_size=1000)
        for binding, voucher in zip(mine, created, strict=True):
            binding.voucher = voucher
        PersonalVoucher.objects.bulk_update(mine, ["voucher"], batch_size=1000)
        analyze_after_bulk_write(PersonalVoucher, Voucher, through, rows=len(created))
    for binding in mine:
        result[binding.key] = binding
        signals.voucher_issued.send(sender=PersonalVoucher, personal_voucher=binding)
    missing = [item.key for item in todo if item.key not in result]  # issued meanwhile by a concurrent caller
    if missing:
        result.update({b.key: b for b in PersonalVoucher.objects.select_related("voucher").filter(key__in=missing)})
    return result
# Incentive history (the incentive guard) ------------------------------------------------------------------------

@dataclass(frozen=True)
class IncentiveHistory:
    """What journey's personal vouchers one person had: received or redeemed one since a date (any purpose), and
    how many of the counted purposes they redeemed (at any time)."""

    received_recently: bool = False
    redeemed_recently: bool = False
    redeemed: int = 0

    @property
    def recent(self) -> bool:
        return self.received_recently or self.redeemed_recently


def incentive_history(people, *, since, counted_purposes=(), ignore_key_prefixes=()) -> dict:
    """{(email, user_id): IncentiveHistory} for each person of ``people`` (pairs of an address and a user id, either
    may be empty), in one query.  A voucher belongs to a person by its user or by its address.

    * ``received_recently`` / ``redeemed_recently``: a journey personal voucher of any purpose issued, or redeemed,
      at or after ``since``;
    * ``redeemed``: how many vouchers of ``counted_purposes`` the person redeemed, ever (as long as they are kept);
    * vouchers whose key starts with one of ``ignore_key_prefixes`` are left out (e.g. the ones of the very
      sequence asking, so a retried mail or a later step of the same sequence is not judged by its own voucher)."""
    people = [((email or "").strip().lower(), user_id or None) for email, user_id in people]
    emails = {email for email, _user in people if email}
    users = {user for _email, user in people if user}
    result = {person: IncentiveHistory() for person in people}
    if not (emails or users):
        return result
    redeemed_at = "voucher__journey_redemption__created_at"
    wanted = Q(created_at__gte=since) | Q(**{f"{redeemed_at}__gte": since})
    if counted_purposes:
        wanted |= Q(purpose__in=list(counted_purposes), **{f"{redeemed_at}__isnull": False})
    rows = (PersonalVoucher.objects.filter(Q(email__in=emails) | Q(user_id__in=users), voucher__isnull=False)
            .filter(wanted).values_list("key", "purpose", "email", "user_id", "created_at", redeemed_at))
    by_email, by_user = defaultdict(list), defaultdict(list)
    for row in rows:
        if any(row[0].startswith(prefix) for prefix in ignore_key_prefixes):
            continue
        if row[2]:
            by_email[row[2].lower()].append(row)
        if row[3]:
            by_user[row[3]].append(row)
    counted = set(counted_purposes)
    for email, user_id in people:
        mine = {row[0]: row for row in by_email.get(email, []) + by_user.get(user_id, [])}.values()
        result[(email, user_id)] = IncentiveHistory(
            received_recently=any(row[4] >= since for row in mine),
            redeemed_recently=any(row[5] is not None and row[5] >= since for row in mine),
            redeemed=sum(1 for row in mine if row[1] in counted and row[5] is not None),
        )
    return result


def had_incentive_recently(*, email="", user=None, days: int, now=None) -> bool:
    """Did this person (an address and/or a user) receive or redeem a journey incentive in the last ``days`` days?"""
    now = now or timezone.now()
    user_id = getattr(user, "pk", user)
    history = incentive_history([(email, user_id)], since=now - timedelta(days=days))
    return next(iter(history.values())).recent


# Order placement -----------------------------------------------------------------------------------------------

def guard_order(order) -> list:
    """Check and record the vouchers of ``order``'s basket, inside the transaction that writes the order.

    Called from the ``Order`` post_save receiver (``OrderCreator.create_order_model``), before Oscar records voucher
    usage.  For each active voucher in the basket (Oscar drops inactive ones): a personal voucher must belong to
    the order's customer, and a single-use voucher gets its unique redemption row.  Raises
    :class:`VoucherNotRedeemable` (the whole order is rolled back) otherwise.  Returns the redemption rows.
    """
    if not order.basket_id:
        return []
    redemptions = []
    vouchers = Voucher.objects.filter(basket=order.basket_id).select_related("journey_binding")
    for voucher in vouchers:
        if not voucher.is_active():
            continue
        binding = getattr(voucher, "journey_binding", None)
        if binding is not None and not binding.allows_order(order):
            raise VoucherNotRedeemable(
                gettext("The code %(code)s cannot be used for this order. Remove it from your basket to continue.")
                % {"code": voucher.code}
            )
        if voucher.usage != Voucher.SINGLE_USE or not (binding or journey_settings.GUARD_SINGLE_USE_VOUCHERS):
            continue
        try:
            with transaction.atomic():
                # Blocks while a concurrent order holding the same code is uncommitted, then fails if it committed.
                redemptions.append(VoucherRedemption.objects.create(voucher=voucher, order=order))
        except IntegrityError:
            raise VoucherNotRedeemable(
                gettext("The code %(code)s has already been used. Remove it from your basket to continue.")
                % {"code": voucher.code}
            ) from None
        if binding is not None:
            transaction.on_commit(partial(_announce_redemption, binding.pk, order.pk))
    return redemptions


def _announce_redemption(binding_id, order_id):
    """After the order committed: the voucher_redeemed signal and the VOUCHER_REDEEMED journey event."""
    from . import events

    binding = PersonalVoucher.objects.select_related("voucher").filter(pk=binding_id).first()
    Order = get_model("order", "Order")
    order = Order.objects.filter(pk=order_id).first()
    if binding is None or order is None:
        return
    discount = OrderDiscount.objects.filter(order_id=order_id, voucher_id=binding.voucher_id).aggregate(
        total=Sum("amount"))["total"] or Decimal("0.00")
    events.record(events.Kind.VOUCHER_REDEEMED, tool=tool_for_purpose(binding.purpose), user=order.user_id,
                  order_id=order_id, basket_id=order.basket_id, ref=binding.voucher.code, value=discount,
                  data={"purpose": binding.purpose})
    try:
        signals.voucher_redeemed.send(sender=PersonalVoucher, personal_voucher=binding, order=order)
    except Exception:  # noqa: BLE001 - a host's receiver must not break the shopper's order confirmation
        logger.exception("journey: a voucher_redeemed receiver failed")
