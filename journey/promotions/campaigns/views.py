"""The shareable campaign link ``/journey/c/<slug>/``: hold or apply the discount, record the landing, redirect.

Bots, link previews, HEAD requests and prefetches only get the redirect (``events.is_automated``), and so does a
client past ``JOURNEY["CAMPAIGN_LINK_RATE_LIMIT"]`` landings: no session, no touch, no landing event."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from ...core import events
from ...core.throttle import Throttle
from . import landing
from .models import Campaign

LINK_THROTTLE = Throttle("campaign-link", "CAMPAIGN_LINK_RATE_LIMIT")


def _safe(request, url):
    return bool(url) and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                                        require_https=request.is_secure())


def _visitor(request):
    """The visitor id: JourneyMiddleware's consent-aware id (a first-party cookie only with analytics consent),
    else the session.  Journey sets no tracking cookie of its own here."""
    visitor = events.visitor_for(request)
    if visitor:
        return visitor
    session = getattr(request, "session", None)
    if session is None:
        return ""
    if not session.session_key:
        session.save()
    return session.session_key


@never_cache
def campaign_link(request, slug):
    campaign = get_object_or_404(Campaign.objects.select_related("offer", "voucher"), slug=slug)
    target = request.GET.get("next", "")
    if not _safe(request, target):
        target = campaign.landing_path if _safe(request, campaign.landing_path) else "/"
    response = HttpResponseRedirect(target)
    if events.is_automated(request) or LINK_THROTTLE.limited(request):
        return response
    LINK_THROTTLE.hit(request)
    landed = landing.land(request, campaign, utm=landing.utm_from(request.GET), visitor_id=_visitor(request))
    messages.add_message(request, landed.level, landed.message)
    return response
