"""Amounts as the tools' numbers give them: a percentage label, money rounded to the cent."""

from __future__ import annotations

from decimal import Decimal

from django.utils import formats

CENT = Decimal("0.01")


def percent(value) -> str:
    """10.00 -> "10", 12.50 -> "12.5" (with the active language's decimal separator): a discount's percentage."""
    return formats.number_format(Decimal(value).normalize())


def money(value) -> Decimal | None:
    """An amount rounded to the cent (an average of order totals, say); None stays None."""
    return None if value is None else Decimal(value).quantize(CENT)
