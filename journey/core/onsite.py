"""On-site messages on the storefront: which one a visitor should see now, and what they did with it.

A visitor's addresses are "user:<id>" when signed in, "basket:<id>" for the basket their browser holds (Oscar's
signed ``oscar_open_basket`` cookie, read without a query) and "basket:<id>" for each guest basket this browser
restored from a journey link (the session key the restore view keeps).  Cost per page (docs/mail.md, "Channels"):
no query for a visitor with none of these, no query while no on-site message is live anywhere (the time of the
newest one is in the shared cache, kept in front by each process for PROCESS_CACHE_SECONDS), else one query on a
small partial index.  Shown, clicked and dismissed are
recorded as journey events and on the message (``opened_at``, ``clicked_at``: counted as a mail's open and click);
bots never mark a message seen.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.signing import BadSignature, Signer
from django.utils import timezone

from ..conf import journey_settings
from . import events, suppression
from .models import Message, Suppression
from .outbox.channels.onsite import (  # noqa: F401 - part of this module's API
    LAST_SENT_KEY,
    _memo,
    basket_address,
    live_messages,
    note_live_message,
    user_address,
    withdraw_live,
)

logger = logging.getLogger(__name__)
State = Message.State

#: The guest baskets this browser restored from a journey link (written by recovery's restore view).
RESTORED_SESSION_KEY = "journey_restored_baskets"

def _last_sent():
    value = cache.get(LAST_SENT_KEY)
    if value is None:  # the cache was emptied: ask the database once (a scan of the small partial index)
        newest = live_messages().order_by("-sent_at").values_list("sent_at", flat=True).first()
        value = newest.timestamp() if newest else 0.0
        cache.set(LAST_SENT_KEY, value, None)
    return value


def _any_live(now) -> bool:
    """Whether an on-site message may be live anywhere: no query (the shared cache, kept in front by this process
    for PROCESS_CACHE_SECONDS), so a shop without on-site messages pays nothing for them."""
    window = timedelta(days=journey_settings.ONSITE_MESSAGE_DAYS)
    return _memo.get("last-sent", _last_sent) >= (now - window).timestamp()


def _cookie_basket_id(request):
    value = request.COOKIES.get(getattr(settings, "OSCAR_BASKET_COOKIE_OPEN", "oscar_open_basket"))
    if not value:
        return None
    try:
        return int(Signer().unsign(value))
    except (BadSignature, ValueError):
        return None


def addresses_for(request, *, with_session=True) -> list[str]:
    """The on-site addresses of this visitor (no query, except loading the session if nothing else did)."""
    addresses = []
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        addresses.append(user_address(user.pk))
    basket_id = _cookie_basket_id(request)
    if basket_id is not None:
        addresses.append(basket_address(basket_id))
    if with_session and settings.SESSION_COOKIE_NAME in request.COOKIES and hasattr(request, "session"):
        for restored in request.session.get(RESTORED_SESSION_KEY) or ():
            addresses.append(basket_address(restored))
    return addresses


def message_for(request, now=None):
    """The on-site message this visitor should see now, or None."""
    now = now or timezone.now()
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    if not signed_in and _cookie_basket_id(request) is None and settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return None  # nobody journey could have a message for: no query
    if not _any_live(now):
        return None
    addresses = addresses_for(request)
    if not addresses:
        return None
    return live_messages(now).filter(address__in=addresses).order_by("-sent_at", "-pk").first()


def owned_message(request, pk):
    """The live on-site message ``pk`` if it is this visitor's, else None."""
    return live_messages().filter(pk=pk, address__in=addresses_for(request) or ["-"]).first()


def _event(kind, request, message):
    events.record(kind, request=request, tool=message.tool, ref=str(message.pk),
                  data={"kind": message.kind, "step": message.step, "channel": message.channel})


def mark_shown(request, message, now=None):
    """The first time a person (not a bot, not a prefetch) sees the message: opened_at and a journey event."""
    if message.opened_at is not None or events.is_automated(request):
        return False
    now = now or timezone.now()
    if not Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now):
        return False
    message.opened_at = now
    _event(events.Kind.MESSAGE_SHOWN, request, message)
    return True


def click(request, message, now=None):
    """The shopper followed the message's button: clicked_at (first time), and it is not shown again."""
    now = now or timezone.now()
    if events.is_automated(request):
        return False
    Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now)
    first = Message.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=now)
    Message.objects.filter(pk=message.pk, dismissed_at__isnull=True).update(dismissed_at=now)
    if first:
        _event(events.Kind.MESSAGE_CLICKED, request, message)
    return bool(first)


def dismiss(request, message, *, forever=False, now=None):
    """The shopper closed the message; ``forever``: no on-site message for this person again (suppressed on the
    on-site channel only: their mails are not affected)."""
    now = now or timezone.now()
    Message.objects.filter(pk=message.pk, dismissed_at__isnull=True).update(dismissed_at=now)
    _event(events.Kind.MESSAGE_DISMISSED, request, message)
    if forever and message.to_email:
        suppression.suppress(message.to_email, Suppression.Reason.DISMISSED, message=message,
                             note="dismissed on the storefront")
