"""The promotions' template tags (the ``journey_promotions`` library: journey/templatetags/journey_promotions.py).

    {% load journey_promotions %}
    {% journey_quantity_hint product %}      on a product page: "Add 1 more for 15 % off" (phase Convince)
    {% journey_quantity_basket_hints basket %}  on the basket page, one line per quantity promotion in it (Sell)

They render ``journey/promotions/quantity_hint.html`` and ``journey/promotions/quantity_basket_hints.html``
(override them in your shop) and nothing at all when no live quantity promotion concerns the page.  Cheap: the
live promotions come from a per-process copy (one cache read per page, no database query), and the basket's
lines are the ones Oscar already loaded.  With ``journey.promotions`` left out of JOURNEY["TOOLS"] the tags render
nothing (a shop's templates keep loading them).
"""

from django import template
from django.template.loader import render_to_string

from ..conf import tool_installed
from .quantity.hints import hints_for_basket, hints_for_product

register = template.Library()
PACKAGE = "journey.promotions"


def _basket(context):
    request = context.get("request")
    return context.get("basket") or getattr(request, "basket", None)


@register.simple_tag(takes_context=True)
def journey_quantity_hint(context, product):
    if not tool_installed(PACKAGE):
        return ""
    hints = hints_for_product(product, _basket(context))
    if not hints:
        return ""
    return render_to_string("journey/promotions/quantity_hint.html",
                            {"journey_hints": hints, "product": product}, request=context.get("request"))


@register.simple_tag(takes_context=True)
def journey_quantity_basket_hints(context, basket=None):
    if not tool_installed(PACKAGE):
        return ""
    hints = hints_for_basket(basket if basket is not None else _basket(context))
    if not hints:
        return ""
    return render_to_string("journey/promotions/quantity_basket_hints.html", {"journey_hints": hints},
                            request=context.get("request"))
