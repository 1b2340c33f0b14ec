"""First-party journey events: one row per thing a shopper (or journey, for him) did.

This module is the public API every tool records through::

    from journey.core import events
    events.record(events.Kind.CAMPAIGN_LANDING, request=request, tool="campaigns", ref=str(campaign.pk),
                  data={"utm_source": "facebook"})

``record`` never raises into the caller's page (a failure is logged), fills the phase from the kind when not
given, and takes the visitor from the request.  How rows reach the table (directly, buffered, through Celery) is
this module's business, not the caller's: inside a request that passes through
:class:`journey.core.middleware.JourneyMiddleware` the rows are buffered on the request and written with one
INSERT when the response is ready; outside a request (a Celery task, a management command) each ``record``
writes its row at once.  See docs/privacy-and-tracking.md.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import journey_settings
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
    MESSAGE_SHOWN = "message_shown", _("On-site message shown")
    MESSAGE_CLICKED = "message_clicked", _("On-site message clicked")
    MESSAGE_DISMISSED = "message_dismissed", _("On-site message dismissed")
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
    Kind.MESSAGE_SHOWN: Phase.SELL,
    Kind.MESSAGE_CLICKED: Phase.SELL,
    Kind.MESSAGE_DISMISSED: Phase.SELL,
    Kind.VOUCHER_ISSUED: Phase.RETAIN,
    Kind.VOUCHER_REDEEMED: Phase.SELL,
}

#: The request attribute holding the visitor id (set by JourneyMiddleware: the consented first-party id, else an
#: id without any cookie, see :func:`anonymous_visitor_id`).
VISITOR_ATTR = "journey_visitor_id"
#: The request attribute holding the device class ("mobile", "tablet", "desktop", "bot").
DEVICE_ATTR = "journey_device"


def visitor_for(request) -> str:
    """The visitor id of ``request``: the consented first-party id if set, else a session-scoped id.

    Without the middleware (or before it ran) the fallback is a digest of the session key, never the key itself
    (a session key in the events table would let anyone who reads it take over the session)."""
    if request is None:
        return ""
    visitor = getattr(request, VISITOR_ATTR, "")
    if visitor:
        return visitor
    session = getattr(request, "session", None)
    key = (getattr(session, "session_key", None) or "") if session is not None else ""
    return "s" + _digest("session", key)[:23] if key else ""


def _digest(purpose, value):
    secret = settings.SECRET_KEY.encode()
    return hmac.new(secret, f"journey.{purpose}|{value}".encode(), hashlib.sha256).hexdigest()


def client_ip(request) -> str:
    """The client's address, for events, consent records and every throttle.

    Behind a proxy, ``JOURNEY["CLIENT_IP_HEADER"]`` (e.g. ``"HTTP_X_FORWARDED_FOR"``) holds a list each proxy appends
    to: the entry ``JOURNEY["CLIENT_IP_PROXY_COUNT"]`` (default 1) from the right is the one the shop's own proxies
    wrote — the entries left of it are whatever the client sent and could be forged.  Without the header setting
    (or without the header): REMOTE_ADDR."""
    header = journey_settings.CLIENT_IP_HEADER
    if header:
        entries = [e.strip() for e in request.META.get(header, "").split(",") if e.strip()]
        if entries:
            count = max(1, int(journey_settings.CLIENT_IP_PROXY_COUNT or 1))
            return entries[-count] if len(entries) >= count else entries[0]
    return request.META.get("REMOTE_ADDR", "") or ""


def anonymous_visitor_id(request, *, day=None) -> str:
    """A visitor id for a shopper who has not allowed analytics cookies, stored nowhere on his device.

    ``JOURNEY["EVENTS_ANONYMOUS_VISITOR"]``: ``"daily"`` (default) — a keyed digest of the day, the client address
    and the browser, so one visit's events belong together within that day and nothing links two days (the key
    changes with the date, the address is never stored); ``"session"`` — a digest of the Django session key when
    the shopper has a session (else none); ``"none"`` — no visitor id (events still carry the user when signed in).
    """
    mode = journey_settings.EVENTS_ANONYMOUS_VISITOR
    if mode == "none":
        return ""
    if mode == "session":
        session = getattr(request, "session", None)
        key = getattr(session, "session_key", None) if session is not None else None
        return "s" + _digest("session", key)[:23] if key else ""
    day = day or timezone.now().date().isoformat()
    ua = request.META.get("HTTP_USER_AGENT", "")[:300]
    return "d" + _digest("daily", f"{day}|{client_ip(request)}|{ua}")[:23]


_BOT = re.compile(r"bot|crawl|spider|slurp|bingpreview|facebookexternalhit|headless|lighthouse|pingdom|monitor|"
                  r"curl|wget|python-requests|httpx|go-http-client|java/|okhttp|scrapy|phantomjs|preview|"
                  r"whatsapp|embedly|iframely|vkshare|bitlybot|outbrain|nuzzel|quora link", re.I)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|nexus (7|9|10)|sm-t\d|(android(?!.*mobile))", re.I)
_MOBILE = re.compile(r"mobi|iphone|ipod|android.*mobile|windows phone|blackberry|opera mini|iemobile", re.I)


def device_class(user_agent: str) -> str:
    """"bot", "tablet", "mobile" or "desktop" from a User-Agent header (an empty one counts as a bot)."""
    if not user_agent or _BOT.search(user_agent):
        return "bot"
    if _TABLET.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    return "desktop"


def device_for(request) -> str:
    if request is None:
        return ""
    device = getattr(request, DEVICE_ATTR, None)
    if device is None:
        device = device_class(request.META.get("HTTP_USER_AGENT", ""))
        setattr(request, DEVICE_ATTR, device)
    return device


def is_automated(request) -> bool:
    """A request no person asked for: a bot or link preview (User-Agent), a HEAD request, or a browser's
    speculative prefetch (``Sec-Purpose``/``Purpose: prefetch``).  Links that change state skip these."""
    if request.method == "HEAD" or device_for(request) == "bot":
        return True
    purpose = request.META.get("HTTP_SEC_PURPOSE", "") or request.META.get("HTTP_PURPOSE", "") \
        or request.META.get("HTTP_X_PURPOSE", "") or request.META.get("HTTP_X_MOZ", "")
    return "prefetch" in purpose.lower() or "preview" in purpose.lower()


# Buffering ------------------------------------------------------------------------------------------------
@dataclass
class Capture:
    """What journey gathered during one request: events to insert, and what third-party tags queued for the page
    (or the next one)."""

    request: object = None
    events: list = field(default_factory=list)
    # Per third-party tag (e.g. "ga4"), what it queued for the page: insights' GA4 keeps (name, reference) pairs,
    # resolved to payloads when a page renders them.
    queued: dict = field(default_factory=dict)
    # Orders placed during this request whose "order placed" event is still to be recorded (id -> Order).
    orders: dict = field(default_factory=dict)
    # Objects the receivers already hold, so rendering a queued GA4 event does not load them again.
    objects: dict = field(default_factory=dict)
    # Small writes of the tools (key -> (sql, params), the last per key wins), sent with the events' INSERT.
    writes: dict = field(default_factory=dict)


_current: ContextVar[Capture | None] = ContextVar("journey_capture", default=None)
CAPTURE_ATTR = "_journey_capture"


def current_capture() -> Capture | None:
    """The capture of the request being handled in this thread/task (set by the middleware), if any."""
    return _current.get()


def current_request():
    capture = _current.get()
    return capture.request if capture is not None else None


def begin(request) -> tuple[Capture, object]:
    """Start buffering for ``request`` (the middleware calls this); returns the capture and a reset token."""
    capture = Capture(request=request)
    setattr(request, CAPTURE_ATTR, capture)
    return capture, _current.set(capture)


def end(token) -> None:
    _current.reset(token)


@contextmanager
def buffered():
    """Buffer the events recorded inside the block and write them with one INSERT at its end (batch jobs: the
    outbox's send batches, bulk voucher issuing).  Inside a request (or another block) the outer buffer is used."""
    if _current.get() is not None:
        yield _current.get()
        return
    capture = Capture()
    token = _current.set(capture)
    try:
        yield capture
    finally:
        _current.reset(token)
        flush(capture)


def enabled() -> bool:
    return bool(journey_settings.EVENTS_ENABLED)


def build(kind, *, request=None, phase=None, tool="", user=None, visitor_id=None, product_id=None, basket_id=None,
          order_id=None, value=None, ref="", data=None, at=None, device=None, source="", medium="", campaign=""):
    """An unsaved :class:`~journey.core.models.JourneyEvent` (for callers that bulk-insert).

    With ``request`` the visitor, the signed-in user and the device class come from it unless given."""
    from .models import JourneyEvent

    if user is None and request is not None:
        request_user = getattr(request, "user", None)
        if request_user is not None and request_user.is_authenticated:
            user = request_user
    if device is None:
        device = device_for(request)
    return JourneyEvent(
        created_at=at or timezone.now(), kind=str(kind), phase=str(phase or DEFAULT_PHASE.get(kind, "")),
        tool=tool or "", visitor_id=(visitor_for(request) if visitor_id is None else visitor_id)[:64],
        user_id=getattr(user, "pk", user), product_id=product_id, basket_id=basket_id, order_id=order_id,
        value=Decimal(value) if value is not None else None, ref=str(ref or "")[:64], data=data or {},
        device=(device or "")[:8], source=(source or "")[:100], medium=(medium or "")[:100],
        campaign=(campaign or "")[:100],
    )


def record(kind, *, immediate=False, **fields):
    """Record one event.  Never raises: journey's bookkeeping must not break a shopper's page.

    Inside a request handled by JourneyMiddleware the event joins the request's buffer (written with one INSERT at
    the end of the request); otherwise, or with ``immediate=True``, it is inserted now.  Returns the (possibly not
    yet saved) event, or None when events are turned off, the request is a bot's, or recording failed."""
    if not enabled():
        return None
    try:
        event = build(kind, **fields)
        if event.device == "bot" and not journey_settings.EVENTS_RECORD_BOTS:
            return None
        request = fields.get("request")
        capture = getattr(request, CAPTURE_ATTR, None) if request is not None else None
        capture = capture or _current.get()
        if capture is not None and not immediate:
            capture.events.append(event)
        else:
            event.save(force_insert=True)
        return event
    except Exception:  # noqa: BLE001 - logged; the shopper's request goes on
        logger.exception("journey: could not record a %s event", kind)
        return None


def write_with_events(key, sql, params) -> None:
    """Run one write statement (an upsert of a tool's bookkeeping row, e.g. recovery's basket activity): at once
    outside a request, or -- while journey captures a request or a :func:`buffered` block -- at its end, in the same
    statement as the events' INSERT on PostgreSQL (``WITH w AS (write) INSERT INTO events …``), so a page that changes
    a basket and records an event pays one query for both.  ``key`` names the row: a later write with the same key
    replaces an earlier one (a basket changed three times in one request is written once).  The statement must not
    fail when its row's parent went away meanwhile (guard it with ``WHERE EXISTS``)."""
    capture = _current.get()
    if capture is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    capture.writes.pop(key, None)  # keep the order of the last writes
    capture.writes[key] = (sql, list(params))


def flush(capture: Capture) -> int:
    """Write the buffered events of ``capture`` with one INSERT (with the buffered writes, on PostgreSQL in the same
    statement); returns how many events.  Never raises."""
    from .models import JourneyEvent

    rows, capture.events = capture.events, []
    writes, capture.writes = list(capture.writes.values()), {}
    if not rows and not writes:
        return 0
    if connection.vendor == "postgresql" and (len(writes) + bool(rows)) > 1:
        try:
            sql, params = _one_statement(JourneyEvent, rows, writes)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
            return len(rows)
        except Exception:  # noqa: BLE001 - logged; each part is tried on its own below
            logger.exception("journey: could not write %d events and %d writes in one statement", len(rows),
                             len(writes))
    for sql, params in writes:
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
        except Exception:  # noqa: BLE001 - logged; the response goes out anyway
            logger.exception("journey: a buffered write failed")
    if not rows:
        return 0
    try:
        # One multi-row INSERT, and nothing else: bulk_create() would add BEGIN / COMMIT around it in autocommit
        # mode (three round trips on every page that records an event).
        fields = [f for f in JourneyEvent._meta.concrete_fields if not f.primary_key]
        JourneyEvent.objects._insert(rows, fields=fields)
    except Exception:  # noqa: BLE001 - logged; the response goes out anyway
        logger.exception("journey: could not write %d buffered events", len(rows))
        return 0
    return len(rows)


def _one_statement(model, rows, writes):
    """``WITH w0 AS (write 0), … INSERT INTO events …`` (PostgreSQL runs every data-modifying WITH part once, read or
    not); without events the last write is the main statement."""
    from django.db.models.sql import InsertQuery

    parts, params = [], []
    for sql, write_params in writes if rows else writes[:-1]:
        parts.append(f"journey_w{len(parts)} AS ({sql})")
        params += write_params
    if rows:
        query = InsertQuery(model)
        query.insert_values([f for f in model._meta.concrete_fields if not f.primary_key], rows)
        [(main, main_params)] = query.get_compiler(connection=connection).as_sql()
    else:
        main, main_params = writes[-1]
    return f"WITH {', '.join(parts)} {main}", params + list(main_params)
