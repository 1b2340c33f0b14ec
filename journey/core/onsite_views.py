"""Storefront views of on-site messages: follow the button, close the banner (once, or for good)."""

from django.http import Http404, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import onsite
from .outbox import get_kind


def _back(request, fallback="/"):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return fallback


@never_cache
def go(request, pk):
    """The banner's button: record the click (this visitor's message only), then issue the kind's link."""
    message = onsite.owned_message(request, pk)
    if message is None:
        raise Http404
    onsite.click(request, message)
    kind = get_kind(message.kind)
    target = kind.action_url(message) if kind.action_url else "/"
    response = HttpResponseRedirect(target)
    response["Referrer-Policy"] = "no-referrer"  # the link may carry a token
    return response


@never_cache
@require_POST
def dismiss(request, pk):
    message = onsite.owned_message(request, pk)
    if message is not None:
        onsite.dismiss(request, message, forever=bool(request.POST.get("forever")))
    return HttpResponseRedirect(_back(request))
