"""The shareable campaign link ``/journey/c/<slug>/``: apply the discount, record the landing, redirect."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from oscar.core.loading import get_class

from ..core import events
from . import services
from .models import Campaign


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
    visitor = _visitor(request)
    landing = services.land(request, campaign, utm=services.utm_from(request.GET), visitor_id=visitor)
    messages.add_message(request, landing.level, landing.message)
    response = HttpResponseRedirect(target)
    basket = landing.basket
    if basket is not None and basket.pk and basket.owner_id is None:
        # The basket may be new, or replace one the cookie pointed at: point this browser's Oscar cookie at it.
        BasketMiddleware = get_class("basket.middleware", "BasketMiddleware")
        response.set_cookie(settings.OSCAR_BASKET_COOKIE_OPEN,
                            BasketMiddleware(get_response=None).get_basket_hash(basket.pk),
                            max_age=settings.OSCAR_BASKET_COOKIE_LIFETIME,
                            secure=settings.OSCAR_BASKET_COOKIE_SECURE, httponly=True, samesite="Lax")
    return response
