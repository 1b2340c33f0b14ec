"""Consent banner and head snippets: the ``journey_consent`` tag library (``journey/templatetags/journey_consent.py``
only names it for Django).

    {% load journey_consent %}
    {% journey_head %}              in <head>: Google consent mode v2 defaults (denied), then what the registered
                                    third-party tags add for the visitor's choice (journey.core.third_party:
                                    insights adds GA4, Hotjar, the chat widget and GA4 e-commerce events)
    {% journey_consent_banner %}    before </body>: the banner, shown until the visitor chooses
    {% journey_consent_link %}      in the footer: "Cookie settings" (opens the banner; a page without JavaScript)
"""

from django import template
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from ..conf import journey_settings
from . import consent, third_party
from .memo import ProcessMemo

register = template.Library()


def _consent_url():
    try:
        return reverse("journey:consent")
    except NoReverseMatch:
        return None


def _next(request):
    return request.get_full_path() if request is not None else "/"


@register.simple_tag(takes_context=True)
def journey_head(context):
    request = context.get("request")
    choice = consent.get(request)
    data = {
        "csp_nonce": getattr(request, "csp_nonce", ""),
        "consent_defaults": third_party.js_json(consent.GTAG_DEFAULTS),
        "consent_update": third_party.js_json(choice.as_gtag()) if choice.decided else "",
        # Each registered tag's own HTML, already escaped by its templates.
        "third_party": mark_safe(third_party.head_html(request, choice)),  # noqa: S308
        "consent_banner": bool(journey_settings.CONSENT_BANNER and _consent_url()),
    }
    return mark_safe(render_to_string("journey/consent/head.html", data))  # noqa: S308 - our template


def _form_context(request, choice):
    return {
        "journey_consent": choice,
        "journey_consent_categories": consent.CATEGORIES,
        "journey_consent_next": _next(request),
        "journey_privacy_url": journey_settings.PRIVACY_POLICY_URL,
    }


@register.simple_tag(takes_context=True)
def journey_consent_banner(context):
    request = context.get("request")
    if not journey_settings.CONSENT_BANNER or request is None or _consent_url() is None:
        return ""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name == "journey:consent":
        return ""  # the consent page shows the same form itself
    choice = consent.get(request)
    key = (get_language(), choice.decided, choice.analytics, choice.marketing)
    # The same banner for every page of a language and choice: rendered once per PROCESS_CACHE_SECONDS, the page's
    # own CSRF token and address put in afterwards (rendering with the request would also run every context
    # processor of the shop again for this one snippet).
    html = _banners.get(key, lambda: _render_banner(choice))
    html = html.replace(_NEXT_PLACEHOLDER, escape(_next(request)))
    return mark_safe(html.replace(_CSRF_PLACEHOLDER, get_token(request)))  # noqa: S308 - our template, escaped


_banners = ProcessMemo()
_CSRF_PLACEHOLDER = "journeyconsentcsrf0000000000000"
_NEXT_PLACEHOLDER = "journeyconsentnext0000000000000"


def _render_banner(choice):
    data = _form_context(None, choice)
    data.update(journey_consent_show=not choice.decided, csrf_token=_CSRF_PLACEHOLDER,
                journey_consent_next=_NEXT_PLACEHOLDER)
    return render_to_string("journey/consent/banner.html", data)


@register.simple_tag(takes_context=True)
def journey_consent_link(context):
    request = context.get("request")
    if _consent_url() is None:
        return ""
    return mark_safe(render_to_string("journey/consent/link.html",  # noqa: S308
                                      {"journey_consent_next": _next(request)}))
