"""First-party journey events: one row per thing a shopper (or journey, for him) did.

This module is the public API every tool records through::

    from journey.core import events
    events.record(events.Kind.CAMPAIGN_LANDING, request=request, tool="promotions", ref=str(campaign.pk),
                  data={"utm_source": "facebook"})

``record`` never raises into the caller's page (a failure is logged), fills the phase from the kind when not
given, and takes the visitor from the request.  How rows reach the table (directly, buffered, through Celery) is
this module's business, not the caller's.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..phases import Phase

logger = logging.getLogger(__name__)


class Kind(models.TextChoices):
    CAMPAIGN_LANDING = "landing", _("Landing")  # from a campaign link, an ad, a search engine…
    PRODUCT_VIEW = "product_view", _("Product view")
    RELATED_CLICK = "related_click", _("Related-list click")
    BASKET_ADD = "basket_add", _("Added to basket")
    BASKET_REMOVE = "basket_remove", _("Removed from basket")
    CHECKOUT_START = "checkout_start", _("Checkout started")
    ORDER_PLACED = "order_placed", _("Order placed")
    MAIL_SENT = "mail_sent", _("Mail sent")
    MAIL_OPENED = "mail_opened", _("Mail opened")
    MAIL_CLICKED = "mail_clicked", _("Mail clicked")
    VOUCHER_ISSUED = "voucher_issued", _("Voucher issued")
    VOUCHER_REDEEMED = "voucher_redeemed", _("Voucher redeemed")


#: The phase an event serves when the caller does not say.
DEFAULT_PHASE = {
    Kind.CAMPAIGN_LANDING: Phase.ATTRACT,
    Kind.PRODUCT_VIEW: Phase.CONVINCE,
    Kind.RELATED_CLICK: Phase.CONVINCE,
    Kind.BASKET_ADD: Phase.SELL,
    Kind.BASKET_REMOVE: Phase.SELL,
    Kind.CHECKOUT_START: Phase.SELL,
    Kind.ORDER_PLACED: Phase.SELL,
    Kind.MAIL_SENT: Phase.SELL,
    Kind.MAIL_OPENED: Phase.SELL,
    Kind.MAIL_CLICKED: Phase.SELL,
    Kind.VOUCHER_ISSUED: Phase.RETAIN,
    Kind.VOUCHER_REDEEMED: Phase.SELL,
}

#: The request attribute holding the visitor id (set by whoever decides it, e.g. a consent-aware middleware).
VISITOR_ATTR = "journey_visitor_id"


def visitor_for(request) -> str:
    """The visitor id of ``request``: the consented first-party id if set, else the session key (session-scoped)."""
    if request is None:
        return ""
    visitor = getattr(request, VISITOR_ATTR, "")
    if visitor:
        return visitor
    session = getattr(request, "session", None)
    return (getattr(session, "session_key", None) or "") if session is not None else ""


def build(kind, *, request=None, phase=None, tool="", user=None, visitor_id=None, product_id=None, basket_id=None,
          order_id=None, value=None, ref="", data=None, at=None, device="", source="", medium="", campaign=""):
    """An unsaved :class:`~journey.core.models.JourneyEvent` (for callers that bulk-insert)."""
    from .models import JourneyEvent

    if user is None and request is not None:
        request_user = getattr(request, "user", None)
        if request_user is not None and request_user.is_authenticated:
            user = request_user
    return JourneyEvent(
        created_at=at or timezone.now(), kind=str(kind), phase=str(phase or DEFAULT_PHASE.get(kind, "")),
        tool=tool or "", visitor_id=(visitor_for(request) if visitor_id is None else visitor_id)[:64],
        user_id=getattr(user, "pk", user), product_id=product_id, basket_id=basket_id, order_id=order_id,
        value=Decimal(value) if value is not None else None, ref=str(ref or "")[:64], data=data or {},
        device=device[:8], source=source[:100], medium=medium[:100], campaign=campaign[:100],
    )


def record(kind, **fields):
    """Record one event now (one INSERT).  Never raises: journey's bookkeeping must not break a shopper's page."""
    try:
        event = build(kind, **fields)
        event.save(force_insert=True)
        return event
    except Exception:  # noqa: BLE001 - logged; the shopper's request goes on
        logger.exception("journey: could not record a %s event", kind)
        return None
