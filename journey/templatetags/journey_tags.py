"""Template tags of journey.

    {% load journey_tags %}
    {% journey_related product %}              the "bought together" list on a product page (phase Convince)
    {% journey_related product limit=6 %}
    {% journey_cross_sell basket %}            "complete your basket" on the basket page (phase Sell)

Each renders ``journey/related/product_list.html`` (override it in your shop), which reuses Oscar's product card.
"""

from django import template
from django.utils.translation import gettext_lazy as _

from ..related import api
from ..related.models import ListKind

register = template.Library()


@register.inclusion_tag("journey/related/product_list.html", takes_context=True)
def journey_related(context, product, limit=4):
    request = context.get("request")
    products = api.related_products(product, ListKind.BOUGHT_TOGETHER, limit, request=request)
    return {**context.flatten(), "journey_products": products, "journey_list_kind": int(ListKind.BOUGHT_TOGETHER),
            "journey_list_title": _("Customers who bought this also bought"), "journey_anchor": product}


@register.inclusion_tag("journey/related/product_list.html", takes_context=True)
def journey_cross_sell(context, basket, limit=4):
    request = context.get("request")
    products = api.related_for_basket(basket, limit, request=request)
    return {**context.flatten(), "journey_products": products, "journey_list_kind": int(ListKind.CROSS_SELL),
            "journey_list_title": _("Complete your basket"), "journey_anchor": None}
