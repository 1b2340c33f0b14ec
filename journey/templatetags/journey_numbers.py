"""Numbers on the admin reports, formatted for the active language with thousands separators.

``{{ value|money:currency }}`` → ``355,198.78 USD`` (English) or ``355.198,78 USD`` (Spanish); ``{{ n|count }}`` →
``12,345`` / ``12.345`` — Babel's CLDR rules for the active language, as Oscar's ``currency`` filter (Django's
own Spanish format groups with a space, and only with ``USE_THOUSAND_SEPARATOR`` on).
"""

from decimal import Decimal, InvalidOperation

from django import template

from ..core.reporting import format_count, format_money

register = template.Library()


@register.filter
def money(value, currency=""):
    if value is None or value == "":
        return "—"
    try:
        return format_money(Decimal(str(value)), currency)
    except (InvalidOperation, ValueError, TypeError):
        return value


@register.filter
def count(value):
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return value
    return format_count(value)
