"""The consent choice: POST from the banner (JSON for the banner's script, a redirect without JavaScript) and a
page with the same form for visitors without JavaScript (the footer link)."""

from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ..conf import journey_settings
from . import consent, secret_urls, third_party

ACTIONS = ("accept", "reject", "save")


def _safe_next(request, value):
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return value
    return "/"


@never_cache
@require_http_methods(["GET", "POST"])
def consent_view(request):
    choice = consent.get(request)
    if request.method == "GET":
        return render(request, "journey/consent/page.html", {
            "journey_consent": choice, "journey_consent_categories": consent.CATEGORIES,
            "journey_consent_next": _safe_next(request, request.GET.get("next")),
            "journey_privacy_url": journey_settings.PRIVACY_POLICY_URL,
            "journey_consent_saved": request.GET.get("saved") == "1",
        })
    action = request.POST.get("action", "save")
    if action not in ACTIONS:
        return HttpResponseBadRequest(_("Unknown choice: use accept, reject or save."))
    analytics = action == "accept" or (action == "save" and request.POST.get("analytics") in ("1", "on"))
    marketing = action == "accept" or (action == "save" and request.POST.get("marketing") in ("1", "on"))
    wants_json = "application/json" in request.headers.get("Accept", "")
    response = JsonResponse({}) if wants_json else redirect(_safe_next(request, request.POST.get("next")))
    chosen = consent.decide(request, response, analytics=analytics, marketing=marketing,
                            source="banner" if wants_json else "page")
    if wants_json:
        response.content = JsonResponse({
            "consent": {"analytics": chosen.analytics, "marketing": chosen.marketing},
            "gtag": chosen.as_gtag(),
            # The banner starts the snippets on its own page: none on a token page (docs/privacy-and-tracking.md).
            "snippets": third_party.snippets_html(
                request, chosen, secret_page=secret_urls.is_secret_path(request.POST.get("next", ""))),
        }).content
    return response
