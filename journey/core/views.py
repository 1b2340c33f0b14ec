"""Views every tool shares: unsubscribe (one-click POST from mail clients, confirmation page on GET)."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import suppression, tokens
from .models import Message, Suppression


@csrf_exempt  # RFC 8058 one-click: mail clients POST without cookies or CSRF token; the token is the credential
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    link = tokens.resolve("unsubscribe", token, record_use=request.method == "POST")
    if link is None:
        return render(request, "journey/unsubscribe_invalid.html", status=404)
    email = link.data.get("email", "")
    if request.method == "GET":
        # Never unsubscribe on GET: link scanners and previews follow links.
        return render(request, "journey/unsubscribe_confirm.html", {"email": email, "token": token})
    message = Message.objects.filter(pk=link.object_id).first() if link.object_id else None
    suppression.suppress(email, Suppression.Reason.UNSUBSCRIBED, message=message, note="unsubscribe link")
    if message is not None:
        Message.objects.filter(pk=message.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=timezone.now())
    return render(request, "journey/unsubscribe_done.html", {"email": email})
