"""``JourneyMiddleware``: the visitor id (consent-aware), first-party event capture and landings, in one place.

Add it after Oscar's BasketMiddleware::

    MIDDLEWARE = [..., "oscar.apps.basket.middleware.BasketMiddleware", "journey.core.middleware.JourneyMiddleware"]

Per request it costs no query, except one INSERT when the request produced events (all of them in one statement)
and Redis lookups only on requests that carry events or enter the shop from outside.

Before Oscar's checkout gateway (``checkout:index``) shows its form to a visitor who is not signed in, it sends
``journey.signals.guest_checkout_gateway(sender=JourneyMiddleware, request)``: the tools may put what they know in
Oscar's checkout session (recovery pre-fills the guest's email with the address it has for the basket).
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.utils.cache import patch_vary_headers

from ..conf import journey_settings
from ..signals import guest_checkout_gateway, request_captured
from . import consent, events, secret_urls, traffic

logger = logging.getLogger(__name__)

SKIP_PREFIXES = ("/static/", "/media/", "/favicon", "/robots.txt")


def _is_checkout_gateway(match):
    # Oscar's checkout app names its first page "index" (namespace "checkout", also in a forked checkout app).
    return match is not None and match.url_name == "index" and "checkout" in match.app_names[-1:]


def _visit_key(visitor):
    return f"journey:visit:{visitor}"


class JourneyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        choice = consent.get(request)
        cookie_name = journey_settings.VISITOR_COOKIE_NAME
        cookie_visitor = request.COOKIES.get(cookie_name, "")
        new_visitor = ""
        if choice.analytics:
            visitor = cookie_visitor[:64] or consent.new_visitor_id()
            new_visitor = "" if cookie_visitor else visitor
        else:
            visitor = events.anonymous_visitor_id(request)
        setattr(request, events.VISITOR_ATTR, visitor)

        if not events.enabled() or request.path_info.startswith(SKIP_PREFIXES):
            response = self.get_response(request)
            return self._cookies(request, response, choice, cookie_visitor, new_visitor)

        capture, token = events.begin(request)
        try:
            response = self.get_response(request)
            try:
                from . import capture as receivers

                receivers.finish_request(capture)
                self._landing(request, capture, response)
                self._stamp_visit(capture)
            except Exception:  # noqa: BLE001 - bookkeeping must never break a response
                logger.exception("journey: event capture failed")
            events.flush(capture)
            request_captured.send(sender=JourneyMiddleware, request=request, response=response, capture=capture)
        finally:
            events.end(token)
        return self._cookies(request, response, choice, cookie_visitor, new_visitor)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "GET" or not _is_checkout_gateway(getattr(request, "resolver_match", None)):
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return None  # Oscar sends signed-in shoppers straight on to the shipping address
        for receiver, result in guest_checkout_gateway.send_robust(sender=JourneyMiddleware, request=request):
            if isinstance(result, Exception):
                logger.error("journey: %s failed at the checkout gateway", receiver, exc_info=result)
        return None

    def _cookies(self, request, response, choice, cookie_visitor, new_visitor):
        if secret_urls.is_secret(request):
            # A token in the address: the next page (and its analytics) must not see it as document.referrer.
            response["Referrer-Policy"] = "no-referrer"
        if getattr(request, "_journey_consent_changed", False):
            return response  # consent.decide() set (or removed) the cookies itself
        if choice.analytics and new_visitor:
            consent.set_visitor_cookie(response, new_visitor, secure=request.is_secure())
        elif cookie_visitor and not choice.analytics:
            # A visitor cookie without (or after withdrawn) analytics consent: remove it.
            response.delete_cookie(journey_settings.VISITOR_COOKIE_NAME, samesite="Lax")
        if journey_settings.CONSENT_BANNER and response.get("Content-Type", "").startswith("text/html"):
            patch_vary_headers(response, ("Cookie",))  # pages differ before and after the choice
        return response

    # Landings -------------------------------------------------------------------------------------------
    def _landing(self, request, capture, response):
        """Record a landing for a request that enters the shop from outside (UTM parameters, click ids or an
        external referrer), once per visitor and source within a visit (``JOURNEY["VISIT_MINUTES"]``)."""
        visitor = events.visitor_for(request)
        existing = next((e for e in capture.events if e.kind == events.Kind.CAMPAIGN_LANDING), None)
        if existing is not None:
            # A tool (a campaign link) recorded its own landing: that one is the visit's source.
            self._remember(visitor, existing.source or existing.data.get("utm_source", ""),
                           existing.medium or existing.data.get("utm_medium", ""),
                           existing.campaign or existing.data.get("utm_campaign", ""))
            return
        if request.method != "GET" or response.status_code >= 400 or \
                request.path_info.startswith(tuple(journey_settings.LANDING_IGNORE_PATHS)):
            return
        if request.headers.get("x-requested-with") == "XMLHttpRequest":
            return
        landing = traffic.landing_from(request.GET, request.META.get("HTTP_REFERER", ""), self._own_hosts(request))
        if landing is None:
            return
        if visitor and not cache.add(f"journey:landed:{visitor}:{landing.source}:{landing.medium}:"
                                     f"{landing.campaign}"[:240], 1, journey_settings.VISIT_MINUTES * 60):
            self._remember(visitor, landing.source, landing.medium, landing.campaign)
            return  # the same entry again (a reload, a redirect): one landing per visit and source
        tool = "utm" if any(k.startswith("utm_") for k in landing.data or {}) else \
            ("ads" if landing.medium == "cpc" else "")
        data = dict(landing.data or {})  # the campaign parameters and click ids, the referrer's host: nothing else
        if not secret_urls.is_secret(request):  # a token page keeps its address: no path at all
            data["path"] = request.path[:300]  # without the query (e-mail addresses, tokens of other sites)
        events.record(events.Kind.CAMPAIGN_LANDING, request=request, tool=tool, source=landing.source,
                      medium=landing.medium, campaign=landing.campaign, data=data)
        self._remember(visitor, landing.source, landing.medium, landing.campaign)

    def _own_hosts(self, request):
        hosts = {request.get_host().split(":")[0]}
        hosts.update(h for h in journey_settings.OWN_HOSTS)
        return hosts

    def _remember(self, visitor, source, medium, campaign):
        if visitor and (source or medium):
            cache.set(_visit_key(visitor), (source[:100], medium[:100], campaign[:100]),
                      journey_settings.VISIT_MINUTES * 60)

    def _stamp_visit(self, capture):
        """Give this request's events the source / medium / campaign of the visit they belong to."""
        pending = [e for e in capture.events if not (e.source or e.medium) and e.visitor_id]
        if not pending:
            return
        visitors = {e.visitor_id for e in pending}
        found = cache.get_many([_visit_key(v) for v in visitors])
        for e in pending:
            visit = found.get(_visit_key(e.visitor_id))
            if visit:
                e.source, e.medium, e.campaign = visit
        for key in found:
            cache.touch(key, journey_settings.VISIT_MINUTES * 60)  # a visit lasts while the shopper is active
