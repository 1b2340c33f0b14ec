"""GA4 e-commerce: the events a page pushes, and the Measurement Protocol.

Oscar's own Google Analytics partial still speaks Universal Analytics (``id``, ``name``); journey speaks GA4
(``item_id``, ``item_name``, ``item_category``…: the payloads are :mod:`journey.insights.ga4_payloads`).  Nothing
here renders or sends anything without analytics consent and ``JOURNEY["GA4_MEASUREMENT_ID"]``.

* Automatic events (``JOURNEY["GA4_AUTO_EVENTS"]``): ``view_item``, ``add_to_cart``, ``remove_from_cart``,
  ``begin_checkout`` and ``purchase`` are queued from ``journey.signals.ecommerce_event`` and pushed by
  ``{% journey_head %}`` on the page itself or, after a redirect, on the next page (a short signed cookie carries
  the references).
* Template tags (``{% load journey_ga4 %}``): ``view_item_list`` / ``select_item``, ``view_cart`` and the others
  when a shop prefers to place them itself.
* Server side (``JOURNEY["GA4_API_SECRET"]``): purchase and refund through the Measurement Protocol, from a Celery
  task, once per order (a :class:`GA4Delivery` row is the guarantee; ``journey.insights.receivers`` schedules it).
"""

from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from decimal import Decimal

from django.core import signing
from django.db.models import F
from django.utils import timezone
from oscar.core.loading import get_model

from ..conf import journey_settings
from ..core import consent, events
from . import ga4_payloads as payloads
from .widgets import ga4_id

logger = logging.getLogger(__name__)
COOKIE = "journey_ga4"
QUEUE = "ga4"  # this tag's key in the request capture's ``queued``
COOKIE_SALT = "journey.ga4.pending"
COOKIE_MAX_AGE = 300
MAX_PENDING = 10
MAX_ATTEMPTS = 5
EVENT_NAMES = ("view_item_list", "view_item", "select_item", "add_to_cart", "remove_from_cart", "view_cart",
               "begin_checkout", "purchase", "refund")


def measurement_id() -> str:
    return ga4_id()


def active(request) -> bool:
    """May GA4 be rendered for this request: a measurement id and the shopper's analytics consent."""
    return bool(measurement_id()) and consent.allows(request, consent.ANALYTICS)


# Queueing events for the page (automatic events) ---------------------------------------------------------
def queue(name, ref, request=None) -> None:
    """Queue a GA4 event (by reference) for the page this request renders or, after a redirect, the next one."""
    if not journey_settings.GA4_AUTO_EVENTS:
        return
    request = request or events.current_request()
    capture = getattr(request, events.CAPTURE_ATTR, None) if request is not None else None
    if capture is None or not active(request):
        return
    capture.queued.setdefault(QUEUE, []).append([name, ref])


def _carried(request):
    raw = request.COOKIES.get(COOKIE)
    if not raw:
        return []
    try:
        value = signing.loads(raw, salt=COOKIE_SALT, max_age=COOKIE_MAX_AGE)
    except signing.BadSignature:
        return []
    return [entry for entry in value if isinstance(entry, list) and len(entry) == 2 and entry[0] in EVENT_NAMES]


def take_pending(request) -> list:
    """The GA4 events to push on this page, as (name, params): carried over from the previous request and queued
    during this one.  Each is taken once."""
    if not active(request):
        return []
    capture = getattr(request, events.CAPTURE_ATTR, None)
    pending = [] if getattr(request, "_journey_ga4_carried_taken", False) else _carried(request)
    request._journey_ga4_carried_taken = True
    if capture is not None:
        pending += capture.queued.pop(QUEUE, [])
    out = []
    for name, ref in pending[:MAX_PENDING * 2]:
        try:
            payload = resolve(name, ref, request)
        except Exception:  # noqa: BLE001 - a deleted product or order: nothing to push
            logger.warning("journey: GA4 %s %r not resolved", name, ref, exc_info=True)
            payload = None
        if payload:
            out.append((name, payload))
    return out


def resolve(name, ref, request=None):
    Product = get_model("catalogue", "Product")
    Basket = get_model("basket", "Basket")
    Order = get_model("order", "Order")
    capture = getattr(request, events.CAPTURE_ATTR, None) if request is not None else None
    if name == "view_item":
        product = (capture.objects.get(("product", ref)) if capture is not None else None) or \
            Product.objects.filter(pk=ref).first()
        return payloads.view_item(product, request) if product else None
    if name == "add_to_cart":
        product = Product.objects.filter(pk=ref[0]).first()
        return payloads.add_to_cart(product, ref[1], request) if product else None
    if name == "remove_from_cart":
        return payloads.remove_from_cart(ref[0], ref[1], Decimal(ref[2]) if ref[2] else None, request) or None
    if name == "begin_checkout":
        basket = getattr(request, "basket", None)
        if basket is None or basket.id != ref:
            return None  # only the shopper's own basket
        return payloads.begin_checkout(basket)
    if name == "purchase":
        order = Order.objects.filter(pk=ref).first()
        return payloads.purchase(order) if order else None
    if name == "view_cart":
        basket = Basket.objects.filter(pk=ref).first()
        return payloads.view_cart(basket) if basket else None
    return None


def carry_over(request, response, capture) -> None:
    """End of the request (middleware): events not rendered on this response go to the next page in a signed
    cookie (only with analytics consent); a carried cookie that was rendered is removed."""
    carried = request.COOKIES.get(COOKIE)
    left = capture.queued.get(QUEUE, []) if capture is not None else []
    if not getattr(request, "_journey_ga4_carried_taken", False):
        left = _carried(request) + left
    if left and active(request):
        response.set_cookie(COOKIE, signing.dumps(left[-MAX_PENDING:], salt=COOKIE_SALT, compress=True),
                            max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax", secure=request.is_secure())
    elif carried:
        response.delete_cookie(COOKIE, samesite="Lax")


# Measurement Protocol ----------------------------------------------------------------------------------------
def mp_configured() -> bool:
    return bool(measurement_id() and journey_settings.GA4_API_SECRET)


def client_id_for(request) -> str:
    """GA's client id from its ``_ga`` cookie (``GA1.1.<id>.<time>`` → ``<id>.<time>``), else the visitor id."""
    raw = request.COOKIES.get("_ga", "") if request is not None else ""
    parts = raw.split(".")
    if len(parts) >= 4 and parts[0].startswith("GA"):
        return ".".join(parts[2:4])[:64]
    return events.visitor_for(request)[:64]


def payload_for(delivery) -> dict:
    Order = get_model("order", "Order")
    order = Order.objects.get(pk=delivery.order_id)
    params = payloads.purchase(order) if delivery.kind == "purchase" else payloads.refund(order)
    for entry in params["items"]:
        entry.pop("index", None)
    params["engagement_time_msec"] = 1
    return {"client_id": delivery.client_id, "non_personalized_ads": True,
            "events": [{"name": delivery.kind, "params": params}]}


def send(delivery_id) -> str:
    """Send one delivery if it is still waiting.  Claims the row first: never sent twice, even by two workers."""
    from .ga4_models import GA4Delivery

    claimed = GA4Delivery.objects.filter(pk=delivery_id, state=GA4Delivery.State.PENDING).update(
        state=GA4Delivery.State.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return "not pending"
    delivery = GA4Delivery.objects.get(pk=delivery_id)
    try:
        body = json.dumps(payload_for(delivery)).encode()
    except Exception as exc:  # noqa: BLE001 - the order is gone: nothing to send, ever
        GA4Delivery.objects.filter(pk=delivery_id).update(state=GA4Delivery.State.FAILED, error=str(exc)[:500])
        return "failed"
    endpoint = str(journey_settings.GA4_MP_ENDPOINT)
    if not endpoint.startswith(("https://", "http://")):
        GA4Delivery.objects.filter(pk=delivery_id).update(state=GA4Delivery.State.FAILED,
                                                          error="GA4_MP_ENDPOINT must be an http(s) URL")
        return "failed"
    query = urllib.parse.urlencode({"measurement_id": measurement_id(),
                                    "api_secret": str(journey_settings.GA4_API_SECRET)})
    url = f"{endpoint}?{query}"
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http(s) checked above
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        # Refused or unresolvable: nothing reached the collector, so the periodic job may try again (a bounded
        # number of times).  Any other failure (a timeout) may have been received: at most once, never re-sent.
        retry = isinstance(reason, ConnectionRefusedError | socket.gaierror) and delivery.attempts < MAX_ATTEMPTS
        GA4Delivery.objects.filter(pk=delivery_id).update(
            state=GA4Delivery.State.PENDING if retry else GA4Delivery.State.FAILED, error=str(exc)[:500])
        return "retry" if retry else "failed"
    ok = 200 <= status < 300
    GA4Delivery.objects.filter(pk=delivery_id).update(
        state=GA4Delivery.State.SENT if ok else GA4Delivery.State.FAILED, response_status=status,
        sent_at=timezone.now() if ok else None, error="" if ok else f"HTTP {status}")
    return "sent" if ok else "failed"


def send_pending(via="tick") -> str:
    """The periodic job: send deliveries a lost task left waiting (older than a minute)."""
    from .ga4_models import GA4Delivery

    if not mp_configured():
        return "not configured"
    cutoff = timezone.now() - timedelta(minutes=1)
    ids = list(GA4Delivery.objects.filter(state=GA4Delivery.State.PENDING, created_at__lt=cutoff)
               .values_list("pk", flat=True)[:500])
    results = [send(pk) for pk in ids]
    return f"{results.count('sent')} sent, {results.count('failed')} failed"
