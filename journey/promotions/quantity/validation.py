"""What makes a quantity promotion make sense: its tiers, its own fields, and whether its products exist.

The admin form runs the same checks; :func:`journey.promotions.quantity.offers.sync_offers` calls :func:`validate`
before touching Oscar's tables.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from ...core.reporting import percent
from .models import QuantityPromotion


def tier_errors(kind, tiers) -> list:
    """What is wrong with ``tiers`` [(count, percent)] for a promotion of ``kind`` (empty when nothing)."""
    if kind == QuantityPromotion.Kind.BUY_X_PAY_Y:
        return [_("Tiers are for tiered promotions; remove them or change the kind.")] if tiers else []
    if not tiers:
        return [_("Add at least one tier (for example 2+ items: 10 % off).")]
    errors = []
    for count, pct in tiers:
        if count is None or pct is None:
            continue
        if not (Decimal("0") < Decimal(pct) <= Decimal("100")):
            errors.append(_("A percentage must be more than 0 and at most 100."))
        if count < 2:
            errors.append(_("A tier starts at 2 items or more."))
    ordered = sorted(tiers)
    for (count_a, pct_a), (count_b, pct_b) in zip(ordered, ordered[1:], strict=False):
        if count_b == count_a:
            errors.append(_("Two tiers start at %(count)s items.") % {"count": count_a})
        elif pct_b <= pct_a:
            errors.append(_("Each tier must give more than the one before: %(count)s+ items gives %(percent)s %% "
                            "off, no more than fewer items.") % {"count": count_b, "percent": percent(pct_b)})
    return errors


def promotion_errors(promotion) -> dict:
    """Field -> message for what is wrong with the promotion's own fields (not its tiers)."""
    errors = {}
    if promotion.ends_at and promotion.starts_at and promotion.ends_at <= promotion.starts_at:
        errors["ends_at"] = _("The end must be after the start.")
    if promotion.kind == QuantityPromotion.Kind.BUY_X_PAY_Y:
        buy, pay = promotion.buy_quantity, promotion.pay_quantity
        if not buy or not pay:
            errors["buy_quantity"] = _("Enter how many items to buy (X) and how many are paid for (Y).")
        elif pay >= buy:
            errors["pay_quantity"] = _("Y must be less than X: “buy 3, pay 2”.")
    return errors


def validate(promotion, tiers) -> None:
    """Raise ValidationError when the promotion and its ``tiers`` [(count, percent)] make no sense.  The admin
    form runs the same checks; :func:`sync_offers` calls it before touching Oscar's tables."""
    errors = promotion_errors(promotion)
    tier_problems = tier_errors(promotion.kind, tiers)
    if tier_problems:
        errors["kind"] = tier_problems
    if errors:
        raise ValidationError(errors)


def matching_products(promotion_range, categories=()) -> int:
    """How many public products the range (or the categories) holds: 0 deserves a warning."""
    Product = get_model("catalogue", "Product")
    if promotion_range is not None:
        if promotion_range.includes_all_products:
            return Product.objects.filter(is_public=True).count()
        return promotion_range.all_products().filter(is_public=True).count()
    if categories:
        Category = get_model("catalogue", "Category")
        ids = set()
        for category in categories:
            ids.update(Category.get_tree(category).values_list("pk", flat=True))
        return Product.objects.filter(is_public=True, categories__in=ids).distinct().count()
    return 0
