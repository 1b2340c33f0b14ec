"""The related-products template tags (the ``journey_tags`` library: journey/templatetags/journey_tags.py).

    {% load journey_tags %}
    {% journey_related product %}              the "bought together" list on a product page (phase Convince)
    {% journey_related product limit=6 %}
    {% journey_cross_sell basket %}            "complete your basket" on the basket page (phase Sell)

Each renders ``journey/related/product_list.html`` (override it in your shop), which reuses Oscar's product card.
For anonymous visitors the rendered list is cached for RELATED_CACHE_SECONDS per live build and language (and kept
by the process for PROCESS_CACHE_SECONDS in front of the shared cache), with the CSRF token of the cards'
add-to-basket forms put back per request, so a product page pays almost nothing for it.
With ``journey.related`` left out of JOURNEY["TOOLS"] the tags render nothing (a shop's templates keep loading them).
"""

import hashlib

from django import template
from django.core.cache import cache
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ..conf import journey_settings, tool_installed
from ..core.memo import ProcessMemo
from . import api
from .models import ListKind, Source

register = template.Library()
PACKAGE = "journey.related"
TEMPLATE = "journey/related/product_list.html"
CSRF_PLACEHOLDER = "journeycsrfplaceholder0000000000"
HTML_MEMO_ENTRIES = 256  # rendered lists kept per process (a few kB each)
_html_memo = ProcessMemo(max_entries=HTML_MEMO_ENTRIES)


def _render(context, key_parts, fetch, kind, title, anchor):
    """``title``: the list's heading, or a function of the products shown that returns it."""
    request = context.get("request")
    data = {"journey_list_kind": int(kind), "journey_anchor": anchor}

    def products_and_title():
        products = fetch()
        return {"journey_products": products, "journey_list_title": title(products) if callable(title) else title}

    user = getattr(request, "user", None)
    cacheable = bool(journey_settings.RELATED_CACHE_SECONDS) and request is not None and not (
        user is not None and user.is_authenticated)
    if not cacheable:
        return mark_safe(render_to_string(TEMPLATE, {**context.flatten(), **data, **products_and_title()}))  # noqa: S308
    build_id = api.live_build_id()
    if build_id is None:
        return ""
    key = "journey:related-html:" + ":".join(str(p) for p in (build_id, get_language(), *key_parts))

    def shared():
        html = cache.get(key)
        if html is None:
            html = render_to_string(TEMPLATE, {**context.flatten(), **data, **products_and_title(),
                                               "csrf_token": CSRF_PLACEHOLDER})
            cache.set(key, html, journey_settings.RELATED_CACHE_SECONDS)
        return html

    # The process keeps the lists it showed last for a few seconds (PROCESS_CACHE_SECONDS): a busy page (a product
    # many are looking at, a basket being edited) skips the round trip to the shared cache.
    html = _html_memo.get(key, shared)
    if CSRF_PLACEHOLDER in html:
        html = html.replace(CSRF_PLACEHOLDER, get_token(request))
    return mark_safe(html)  # noqa: S308 - rendered by our own template with autoescaping


@register.simple_tag(takes_context=True)
def journey_related(context, product, limit=4):
    if not tool_installed(PACKAGE) or product is None or not getattr(product, "pk", None):
        return ""
    request = context.get("request")
    return _render(
        context, ("product", product.pk, limit),
        lambda: api.related_products(product, ListKind.BOUGHT_TOGETHER, limit, request=request),
        ListKind.BOUGHT_TOGETHER, _bought_together_title, product,
    )


EVIDENCE = {Source.COMPUTED, Source.MANUAL, Source.PINNED}


def _bought_together_title(products):
    """"Customers who bought this also bought" only when every product shown is backed by orders (or chosen by the
    store); a list with best sellers or similar products in it is "You may also like"."""
    if all(p.journey_related.get("source") in EVIDENCE for p in products):
        return _("Customers who bought this also bought")
    return _("You may also like")


@register.simple_tag(takes_context=True)
def journey_cross_sell(context, basket, limit=4):
    if not tool_installed(PACKAGE) or basket is None or not getattr(basket, "pk", None):
        return ""
    request = context.get("request")
    products = sorted({line.product_id for line in basket.all_lines() if line.product_id})
    digest = hashlib.blake2b(",".join(map(str, products)).encode(), digest_size=12).hexdigest()
    return _render(
        context, ("basket", digest, limit), lambda: api.related_for_basket(basket, limit, request=request),
        ListKind.CROSS_SELL, _("Complete your basket"), None,
    )
