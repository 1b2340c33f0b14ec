"""What insights puts on storefront pages: the ``journey_ga4`` tag library (``journey/templatetags/journey_ga4.py``
only names it for Django) and, through ``journey.core.third_party``, GA4's, Hotjar's and the chat widget's snippets
and the queued GA4 e-commerce events in ``{% journey_head %}``.  Nothing while ``journey.insights`` is not in
``JOURNEY["TOOLS"]``.

GA4 e-commerce events a template pushes itself (GA4 item schema; nothing without analytics consent and
``JOURNEY["GA4_MEASUREMENT_ID"]``, nothing on a token page: ``JOURNEY["SECRET_URLS"]``).

    {% load journey_ga4 %}
    {% journey_ga4_view_item_list products "Category: Cheese" %}   a list (select_item follows clicks on it)
    {% journey_ga4_view_item product %}
    {% journey_ga4_view_cart basket %}
    {% journey_ga4_begin_checkout basket %}
    {% journey_ga4_purchase order %}

view_item, add_to_cart, remove_from_cart, begin_checkout and purchase are also pushed automatically by
``{% journey_head %}`` (``JOURNEY["GA4_AUTO_EVENTS"]``): use these tags for the others, or with auto events off.
"""

from django import template
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ..conf import tool_installed
from ..core import secret_urls, third_party
from ..core.third_party import js_json
from . import ga4, ga4_payloads, widgets

PACKAGE = "journey.insights"
register = template.Library()


def _active(request):
    """GA4 may render here: insights installed, configured, analytics consent, and not a token page (its address
    would go to Google)."""
    return tool_installed(PACKAGE) and ga4.active(request) and not secret_urls.is_secret(request)


GTAG = "(window.gtag||function(){(window.dataLayer=window.dataLayer||[]).push(arguments);})"


def _event(request, name, payload, extra=""):
    if not payload or not _active(request):
        return ""
    nonce = getattr(request, "csp_nonce", "")
    attrs = format_html(' nonce="{}"', nonce) if nonce else ""
    return mark_safe(  # noqa: S308 - JSON escaped for a script element
        f'<script data-journey-ga4="{name}"{attrs}>{GTAG}("event","{name}",{js_json(payload)});{extra}</script>')


@register.simple_tag(takes_context=True)
def journey_ga4_view_item_list(context, products, list_name, list_id=None):
    request = context.get("request")
    if not _active(request):
        return ""
    # Haystack search results (Oscar's browse pages) wrap the product in ``.object``.
    products = [getattr(p, "object", p) for p in (products or [])]
    products = [p for p in products if p is not None]
    if not products:
        return ""
    payload = ga4_payloads.view_item_list(products, list_name, list_id, request)
    # select_item: ga4.js matches clicked links against these URLs.
    urls = {product.get_absolute_url(): index for index, product in enumerate(products)}
    registration = (f"(window.journeyGa4Lists=window.journeyGa4Lists||[]).push("
                    f"{js_json({'payload': payload, 'urls': urls})});")
    return _event(request, "view_item_list", payload, registration)


@register.simple_tag(takes_context=True)
def journey_ga4_view_item(context, product):
    request = context.get("request")
    return _event(request, "view_item", ga4_payloads.view_item(product, request) if _active(request) else None)


@register.simple_tag(takes_context=True)
def journey_ga4_view_cart(context, basket):
    request = context.get("request")
    if basket is None or not getattr(basket, "id", None) or basket.is_empty:
        return ""
    return _event(request, "view_cart", ga4_payloads.view_cart(basket) if _active(request) else None)


@register.simple_tag(takes_context=True)
def journey_ga4_begin_checkout(context, basket):
    request = context.get("request")
    if basket is None or not getattr(basket, "id", None):
        return ""
    return _event(request, "begin_checkout", ga4_payloads.begin_checkout(basket) if _active(request) else None)


@register.simple_tag(takes_context=True)
def journey_ga4_purchase(context, order):
    request = context.get("request")
    if order is None:
        return ""
    return _event(request, "purchase", ga4_payloads.purchase(order) if _active(request) else None)


# {% journey_head %} and the consent banner (journey.core.third_party) -------------------------------------------
def head_html(request, choice) -> str:
    """The snippets the visitor's choice allows (GA4, Hotjar, chat) and the GA4 events queued for this page."""
    data = widgets.snippet_context(request, choice)
    data["ga4_events"] = [(name, js_json(payload)) for name, payload in ga4.take_pending(request)] \
        if data["ga4_id"] else []
    return render_to_string("journey/insights/head.html", data)


def snippets_html(request, choice, *, secret_page=None) -> str:
    return widgets.snippets_html(request, choice, secret_page=secret_page)


TAGS = third_party.TagSet(key="insights", head=head_html, snippets=snippets_html, package=PACKAGE)
