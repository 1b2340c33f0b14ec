"""Links from a message to a product page that count the click: ``/journey/p/<token>/<product id>/``.

A tool's mail about products (browse reminders, price drops) links each product through here: the view records
the message's first click (``clicked_at``) and a "mail clicked" event with the message's tool, then redirects to
the product page, where Oscar's ``product_viewed`` signal records the view as for any visit.  One token per
message (an HMAC of the message id, so a retried mail reuses its links), valid for ``ttl``."""

from __future__ import annotations

from datetime import timedelta

from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from oscar.core.loading import get_model

from . import events, tokens
from .models import Message
from .outbox.links import absolute_url
from .throttle import Throttle

PURPOSE = "product-link"
THROTTLE = Throttle("product-link-fail", "RESTORE_RATE_LIMIT")


def issue_tokens(message_ids, *, ttl: timedelta) -> dict:
    """``{message id: raw token}`` for the given (saved) messages: one INSERT."""
    ids = list(message_ids)
    raws = tokens.issue_many(PURPOSE, [(pk, None) for pk in ids], ttl=ttl, per_object=True)
    return dict(zip(ids, raws, strict=True))


def link(raw_token: str, product_id) -> str:
    """The absolute link to ``product_id`` carrying the message's token."""
    return absolute_url(reverse("journey:product-link", args=[raw_token, product_id]))


def record_click(message, request, now=None):
    now = now or timezone.now()
    Message.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=now)
    events.record(events.Kind.MAIL_CLICKED, request=request, tool=message.tool, ref=str(message.pk), at=now,
                  user=None if request.user.is_authenticated else message.user_id)


@never_cache
def go(request, token, product_id):
    """Record the click (unless the link is unknown or expired, the client keeps guessing tokens, or the request is
    a mail scanner's or a link preview's) and redirect to the product, if it is public; a product that is gone
    answers 404.  Never an error page for a bad token: the product page is the shop's own."""
    Product = get_model("catalogue", "Product")
    product = Product.objects.filter(pk=product_id, is_public=True).first()
    if product is None:
        raise Http404("This product is no longer available.")
    found = None if THROTTLE.limited(request) else tokens.resolve(PURPOSE, token)
    if found is None:
        THROTTLE.hit(request)
    elif not events.is_automated(request):
        message = Message.objects.filter(pk=found.object_id).first()
        if message is not None:
            record_click(message, request)
    response = HttpResponseRedirect(product.get_absolute_url())
    response["Referrer-Policy"] = "no-referrer"
    return response
