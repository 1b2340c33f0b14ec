"""Third-party snippets journey renders only with consent: GA4's loader, Hotjar and a chat widget (Crisp or
Tawk.to), each from settings, and their entries in the tool registry (phases and health).

Consent categories: GA4 and Hotjar wait for ``analytics``; the chat widget for
``JOURNEY["CHAT_CONSENT_CATEGORY"]`` (``marketing`` by default: Crisp and Tawk.to set their own cookies and track
visitors across pages before anyone opens the chat — choose ``necessary`` only after checking your provider's
cookie-less mode).
"""

from __future__ import annotations

import re

from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from ..conf import journey_settings
from ..core import consent, secret_urls
from ..core.registry import Health, Tool, Touchpoint
from ..phases import Phase

GA4_ID = re.compile(r"^G-[A-Z0-9]{4,20}$")
HOTJAR_ID = re.compile(r"^\d{1,12}$")
CRISP_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
TAWK_ID = re.compile(r"^[A-Za-z0-9]{6,40}/[A-Za-z0-9]{4,40}$")


def ga4_id() -> str:
    value = str(journey_settings.GA4_MEASUREMENT_ID or "")
    return value if GA4_ID.match(value) else ""


def hotjar_id() -> str:
    value = str(journey_settings.HOTJAR_SITE_ID or "")
    return value if HOTJAR_ID.match(value) else ""


def chat() -> tuple[str, str] | None:
    provider = (journey_settings.CHAT_PROVIDER or "").lower()
    value = str(journey_settings.CHAT_ID or "")
    if provider == "crisp" and CRISP_ID.match(value):
        return provider, value
    if provider == "tawk" and TAWK_ID.match(value):
        return provider, value
    return None


def chat_category() -> str:
    category = journey_settings.CHAT_CONSENT_CATEGORY
    return category if category in (consent.NECESSARY, consent.ANALYTICS, consent.MARKETING) else consent.MARKETING


def snippet_context(request, choice=None, *, secret_page=None) -> dict:
    """What the snippets template renders for this visitor's consent (``choice`` overrides the request's).

    Nothing on a page whose address is a secret (``JOURNEY["SECRET_URLS"]``): the scripts would send it away.
    ``secret_page`` says whether the page is one when ``request`` is not the page's own (the consent POST)."""
    choice = choice or consent.get(request)
    if secret_page is None:
        secret_page = secret_urls.is_secret(request)
    if secret_page:
        return {"ga4_id": "", "hotjar_id": "", "chat_provider": "", "chat_id": "",
                "csp_nonce": getattr(request, "csp_nonce", "")}
    chat_widget = chat() if choice.allows(chat_category()) else None
    return {
        "ga4_id": ga4_id() if choice.analytics else "",
        "hotjar_id": hotjar_id() if choice.analytics else "",
        "chat_provider": chat_widget[0] if chat_widget else "",
        "chat_id": chat_widget[1] if chat_widget else "",
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }


def snippets_html(request, choice=None, *, secret_page=None) -> str:
    return render_to_string("journey/consent/snippets.html",
                            snippet_context(request, choice, secret_page=secret_page), request=None)


# Tools --------------------------------------------------------------------------------------------------------
def hotjar_health():
    if journey_settings.HOTJAR_SITE_ID and not hotjar_id():
        return Health.error(_("JOURNEY['HOTJAR_SITE_ID'] is not a Hotjar site id (digits only)."))
    if not hotjar_id():
        return Health.idle(_("Not configured: set JOURNEY['HOTJAR_SITE_ID'] to show heatmaps and recordings."))
    return Health.ok(_("Site %(id)s, loaded for visitors who allow analytics.") % {"id": hotjar_id()})


def chat_health():
    if journey_settings.CHAT_PROVIDER and chat() is None:
        return Health.error(_("JOURNEY['CHAT_PROVIDER'] must be 'crisp' or 'tawk' with a matching CHAT_ID."))
    if chat() is None:
        return Health.idle(_("Not configured: set JOURNEY['CHAT_PROVIDER'] and JOURNEY['CHAT_ID']."))
    return Health.ok(_("%(provider)s, shown to visitors who allow %(category)s cookies.")
                     % {"provider": chat()[0].capitalize(), "category": chat_category()})


def ga4_health():
    if journey_settings.GA4_MEASUREMENT_ID and not ga4_id():
        return Health.error(_("JOURNEY['GA4_MEASUREMENT_ID'] is not a GA4 measurement id (G-…)."))
    if not ga4_id():
        return Health.idle(_("Not configured: set JOURNEY['GA4_MEASUREMENT_ID'] for GA4 e-commerce events."))
    if journey_settings.GA4_API_SECRET:
        return Health.ok(_("%(id)s: e-commerce events in the browser and server-side purchases, with analytics "
                           "consent.") % {"id": ga4_id()})
    return Health.ok(_("%(id)s: e-commerce events in the browser, with analytics consent.") % {"id": ga4_id()})


def register_all(registry):
    registry.register(Tool(
        key="hotjar", name=_("Hotjar heatmaps"), provider="hotjar", order=60,
        description=_("Heatmaps and session recordings show where shoppers hesitate on product pages."),
        phases=[Phase.CONVINCE], touchpoints=[Touchpoint.WEB], health=hotjar_health,
    ), replace=True)
    registry.register(Tool(
        key="chat", name=_("Chat widget"), provider="crisp / tawk.to", order=61,
        description=_("Live chat answers questions before and during the purchase."),
        phases=[Phase.CONVINCE, Phase.SELL], touchpoints=[Touchpoint.WEB], health=chat_health,
    ), replace=True)
    registry.register(Tool(
        key="ga4", name=_("Google Analytics 4"), provider="google", order=62,
        description=_("E-commerce events (product views, basket, checkout, purchases) in GA4, with consent."),
        phases=[Phase.ATTRACT], touchpoints=[Touchpoint.WEB, Touchpoint.AD], health=ga4_health,
    ), replace=True)
