"""Cookie consent: categories, the visitor's current choice (a cookie), and the record of each choice.

Categories: ``necessary`` (always on: the basket, the session, the consent cookie itself), ``analytics``
(journey's first-party visitor cookie, Google Analytics 4, Hotjar) and ``marketing`` (ad storage and
personalisation in Google's consent mode; the chat widget by default, see ``JOURNEY["CHAT_CONSENT_CATEGORY"]``).

Public API::

    from journey.core import consent
    consent.get(request).analytics          # may analytics cookies / snippets be used on this request?
    consent.allows(request, "marketing")
    consent.decide(request, response, analytics=True, marketing=False, source="banner")   # store a choice

The choice lives in the cookie ``JOURNEY["CONSENT_COOKIE_NAME"]`` (``<version>:<a><m>:<record key>``) and in a
:class:`ConsentRecord` row (visitor, user, categories, exact wording and version shown, time, truncated address).
A new ``JOURNEY["CONSENT_VERSION"]`` asks everyone again.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.html import strip_tags
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from ..conf import journey_settings
from . import events
from .consent_models import ConsentRecord

NECESSARY, ANALYTICS, MARKETING = "necessary", "analytics", "marketing"
CATEGORIES = (
    (NECESSARY, _("Necessary"), _("Keep the shop working: your basket, signing in, security and this choice. "
                                 "Always on.")),
    (ANALYTICS, pgettext_lazy("consent category", "Analytics"),
     _("Help us understand how the shop is used (visit statistics, Google Analytics, Hotjar heatmaps) so we can "
       "improve it.")),
    (MARKETING, _("Marketing"), _("Measure our ads and campaigns and show you relevant offers "
                                 "(advertising cookies, the chat widget).")),
)
REQUEST_ATTR = "journey_consent"
# Cookies the analytics category covers; removed when a shopper withdraws it (first-party ones we can reach).
ANALYTICS_COOKIE_PREFIXES = ("_ga", "_gid", "_gat", "_hj")


@dataclass(frozen=True)
class Consent:
    analytics: bool = False
    marketing: bool = False
    decided: bool = False  # the visitor chose (under the current wording version)
    key: str = ""  # the ConsentRecord key

    def allows(self, category) -> bool:
        return category == NECESSARY or bool(getattr(self, category, False))

    def as_gtag(self) -> dict:
        """Google consent mode v2 state for ``gtag('consent', 'update', …)``."""
        a = "granted" if self.analytics else "denied"
        m = "granted" if self.marketing else "denied"
        return {"analytics_storage": a, "ad_storage": m, "ad_user_data": m, "ad_personalization": m}


UNDECIDED = Consent()
#: Google consent mode v2 defaults: everything non-essential denied until the shopper chooses.
GTAG_DEFAULTS = {"ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied",
                 "analytics_storage": "denied", "functionality_storage": "granted",
                 "security_storage": "granted", "wait_for_update": 500}


def parse(value: str | None) -> Consent:
    """The choice a consent cookie holds; a malformed cookie or one from an older wording version is undecided."""
    if not value:
        return UNDECIDED
    parts = value.split(":")
    if len(parts) != 3 or parts[0] != str(journey_settings.CONSENT_VERSION) or len(parts[1]) != 2:
        return UNDECIDED
    flags = parts[1]
    if set(flags) - {"0", "1"}:
        return UNDECIDED
    return Consent(analytics=flags[0] == "1", marketing=flags[1] == "1", decided=True, key=parts[2][:36])


def get(request) -> Consent:
    """The visitor's current choice (read from the cookie once per request)."""
    if request is None:
        return UNDECIDED
    cached = getattr(request, REQUEST_ATTR, None)
    if cached is None:
        cached = parse(request.COOKIES.get(journey_settings.CONSENT_COOKIE_NAME))
        setattr(request, REQUEST_ATTR, cached)
    return cached


def allows(request, category) -> bool:
    return get(request).allows(category)


def wording(language=None) -> str:
    """The exact text the banner shows (rendered from ``journey/consent/wording.html``), as plain text."""
    html = render_to_string("journey/consent/wording.html", {"categories": CATEGORIES})
    lines = (line.strip() for line in strip_tags(html).splitlines())
    return "\n".join(line for line in lines if line)


def truncate_ip(address: str) -> str | None:
    """IPv4 to its /24, IPv6 to its /48 (what journey stores, if anything); None for an unusable value."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def new_visitor_id() -> str:
    return "v" + uuid.uuid4().hex[:23]


def decide(request, response, *, analytics: bool, marketing: bool, source: str = "banner") -> Consent:
    """Store the visitor's choice: a ConsentRecord row and the consent cookie on ``response``.

    Granting analytics gives the visitor a first-party id cookie (used for his events from now on); withdrawing it
    removes that cookie and the analytics cookies of Google Analytics and Hotjar."""
    cookie_name = journey_settings.VISITOR_COOKIE_NAME
    visitor = request.COOKIES.get(cookie_name, "") if analytics else ""
    if analytics and not visitor:
        visitor = new_visitor_id()
    if not visitor:  # the id his events carry on this request (a withdrawn cookie's, or one without cookie)
        visitor = getattr(request, events.VISITOR_ATTR, "") or events.anonymous_visitor_id(request)
    user = getattr(request, "user", None)
    record = ConsentRecord.objects.create(
        visitor_id=visitor[:64], user=user if user is not None and user.is_authenticated else None,
        analytics=analytics, marketing=marketing, version=str(journey_settings.CONSENT_VERSION)[:32],
        wording=wording(), language=(get_language() or "")[:12], source=source[:16],
        ip=truncate_ip(events.client_ip(request)),
    )
    choice = Consent(analytics=analytics, marketing=marketing, decided=True, key=str(record.key))
    secure = request.is_secure()
    response.set_cookie(
        journey_settings.CONSENT_COOKIE_NAME,
        f"{journey_settings.CONSENT_VERSION}:{int(analytics)}{int(marketing)}:{record.key}",
        max_age=journey_settings.CONSENT_COOKIE_DAYS * 86400, samesite="Lax", secure=secure, httponly=False,
    )
    if analytics:
        set_visitor_cookie(response, visitor, secure=secure)
        setattr(request, events.VISITOR_ATTR, visitor)
    else:
        for name in request.COOKIES:
            if name == cookie_name or name.startswith(ANALYTICS_COOKIE_PREFIXES):
                response.delete_cookie(name, samesite="Lax")
    setattr(request, REQUEST_ATTR, choice)
    request._journey_consent_changed = True
    return choice


def set_visitor_cookie(response, visitor, *, secure=False):
    response.set_cookie(journey_settings.VISITOR_COOKIE_NAME, visitor,
                        max_age=journey_settings.VISITOR_COOKIE_DAYS * 86400, samesite="Lax", secure=secure,
                        httponly=True)


def record_for(request) -> ConsentRecord | None:
    """The ConsentRecord behind the visitor's current choice (one query), e.g. to show it back to him."""
    key = get(request).key
    try:
        return ConsentRecord.objects.filter(key=uuid.UUID(key)).first() if key else None
    except ValueError:
        return None
