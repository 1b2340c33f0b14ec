"""The storefront's discount-code form target: ``POST /journey/basket/code/`` (``journey:apply-code``).

Thin: throttle, call :func:`journey.promotions.apply.apply_code`, put its message on the page, redirect back.
A client whose refused codes reach ``JOURNEY["CODE_RATE_LIMIT"]`` gets HTTP 429 until the window passes.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ..core.throttle import Throttle
from . import apply

CODE_THROTTLE = Throttle("code-fail", "CODE_RATE_LIMIT")


def _next_url(request):
    next_url = request.POST.get("next") or ""
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                                    require_https=request.is_secure()):
        return next_url
    return reverse("basket:summary")


@never_cache
@require_POST
def apply_code(request):
    if CODE_THROTTLE.limited(request):
        return render(request, "journey/promotions/code_throttled.html", status=429)
    result = apply.apply_code(request.basket, request.POST.get("code", ""), request)
    if result.status in apply.REFUSED:
        CODE_THROTTLE.hit(request)
    if result.applied:
        messages.success(request, result.message)
    elif result.status == apply.NOT_QUALIFYING:
        messages.warning(request, result.message)
    else:
        messages.error(request, result.message)
    return redirect(_next_url(request))
