"""Small helpers every tool's numbers share: the shop's currency, percentages and money amounts as shown.

Tools report through these (and the registry's metrics hooks) instead of importing the insights tool.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.utils import formats

CENT = Decimal("0.01")


def currency() -> str:
    """The shop's currency code (Oscar's ``OSCAR_DEFAULT_CURRENCY``), read at call time; "" when unset."""
    return getattr(settings, "OSCAR_DEFAULT_CURRENCY", "")


def percent(value) -> str:
    """10.00 -> "10", 12.50 -> "12.5" (with the active language's decimal separator)."""
    return formats.number_format(Decimal(value).normalize())


def money(value) -> Decimal | None:
    """An amount rounded to the cent (an average of order totals, say); None stays None."""
    return None if value is None else Decimal(value).quantize(CENT)
