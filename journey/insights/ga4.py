"""GA4 e-commerce: payloads in GA4's item schema, the events a page pushes, and the Measurement Protocol.

Oscar's own Google Analytics partial still speaks Universal Analytics (``id``, ``name``); this module speaks GA4
(``item_id``, ``item_name``, ``item_category``…).  Nothing here renders or sends anything without analytics consent
and ``JOURNEY["GA4_MEASUREMENT_ID"]``.

* Automatic events (``JOURNEY["GA4_AUTO_EVENTS"]``): ``view_item``, ``add_to_cart``, ``remove_from_cart``,
  ``begin_checkout`` and ``purchase`` are queued by journey's signal receivers and pushed by ``{% journey_head %}``
  on the page itself or, after a redirect, on the next page (a short signed cookie carries the references).
* Template tags (``{% load journey_ga4 %}``): ``view_item_list`` / ``select_item``, ``view_cart`` and the others
  when a shop prefers to place them itself.
* Server side (``JOURNEY["GA4_API_SECRET"]``): purchase and refund through the Measurement Protocol, from a Celery
  task, once per order (a :class:`GA4Delivery` row is the guarantee).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import _json_script_escapes
from oscar.core.loading import get_model

from ..conf import journey_settings
from ..core import consent, events

logger = logging.getLogger(__name__)
COOKIE = "journey_ga4"
COOKIE_SALT = "journey.ga4.pending"
COOKIE_MAX_AGE = 300
MAX_PENDING = 10
MAX_ATTEMPTS = 5
EVENT_NAMES = ("view_item_list", "view_item", "select_item", "add_to_cart", "remove_from_cart", "view_cart",
               "begin_checkout", "purchase", "refund")


def measurement_id() -> str:
    from .widgets import ga4_id

    return ga4_id()


def active(request) -> bool:
    """May GA4 be rendered for this request: a measurement id and the shopper's analytics consent."""
    return bool(measurement_id()) and consent.allows(request, consent.ANALYTICS)


def js_json(value) -> str:
    """JSON safe to put inside a ``<script>`` element."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).translate(_json_script_escapes)


def money(value) -> float | None:
    if value is None:
        return None
    return float(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def currency_of(default=None) -> str:
    return default or getattr(settings, "OSCAR_DEFAULT_CURRENCY", "") or "EUR"


# Items ------------------------------------------------------------------------------------------------------
def item_id(product=None, *, upc="", pk=None) -> str:
    if product is not None:
        upc, pk = product.upc, product.pk
    if journey_settings.GA4_ITEM_ID == "upc" and upc:
        return str(upc)
    return str(pk)


def categories_for(product_ids) -> dict:
    """product id → category names from the root down (the first category of each product; a child product
    uses its parent's).  Two queries for any number of products."""
    Product = get_model("catalogue", "Product")
    ProductCategory = get_model("catalogue", "ProductCategory")
    Category = get_model("catalogue", "Category")
    ids = [i for i in set(product_ids) if i]
    if not ids:
        return {}
    parents = dict(Product.objects.filter(pk__in=ids, parent__isnull=False).values_list("pk", "parent_id"))
    owner = {pid: parents.get(pid, pid) for pid in ids}
    first = {}
    for product_id, path in (ProductCategory.objects.filter(product_id__in=set(owner.values()))
                             .order_by("product_id", "pk").values_list("product_id", "category__path")):
        first.setdefault(product_id, path)
    steplen = getattr(Category, "steplen", 4)
    wanted = {p[:i] for p in first.values() for i in range(steplen, len(p) + 1, steplen)}
    names = dict(Category.objects.filter(path__in=wanted).values_list("path", "name"))
    out = {}
    for pid in ids:
        path = first.get(owner[pid])
        out[pid] = [names[path[:i]] for i in range(steplen, len(path) + 1, steplen) if path[:i] in names] \
            if path else []
    return out


def brands_for(product_ids) -> dict:
    code = journey_settings.GA4_BRAND_ATTRIBUTE
    if not code or not product_ids:
        return {}
    Value = get_model("catalogue", "ProductAttributeValue")
    rows = Value.objects.filter(product_id__in=set(product_ids), attribute__code=code).select_related("attribute")
    return {v.product_id: str(v.value) for v in rows if v.value not in (None, "")}


def item(*, item_id_, name, price=None, quantity=1, categories=(), brand=None, index=None, list_name=None,
         list_id=None, coupon=None, discount=None) -> dict:
    """One entry of ``items`` in GA4's schema."""
    data = {"item_id": item_id_, "item_name": str(name)[:100]}
    for i, category in enumerate(list(categories)[:5]):
        data["item_category" if i == 0 else f"item_category{i + 1}"] = str(category)
    if brand:
        data["item_brand"] = brand
    if price is not None:
        data["price"] = money(price)
    data["quantity"] = int(quantity or 1)
    if index is not None:
        data["index"] = int(index)
    if list_name:
        data["item_list_name"] = str(list_name)
    if list_id:
        data["item_list_id"] = str(list_id)
    if coupon:
        data["coupon"] = coupon
    if discount:
        data["discount"] = money(discount)
    return data


def _price_for(product, request):
    strategy = getattr(request, "strategy", None)
    if strategy is None:
        return None, None
    try:
        info = strategy.fetch_for_product(product)
    except Exception:  # noqa: BLE001 - no stock record, a strategy that raises: no price
        return None, None
    price = info.price
    if not price.exists:
        return None, None
    return (price.incl_tax if price.is_tax_known else price.excl_tax), price.currency


def product_items(products, request=None, *, list_name=None, list_id=None, quantity=1, start=1):
    products = list(products)
    ids = [p.pk for p in products]
    cats, brands = categories_for(ids), brands_for(ids)
    items, currency = [], None
    for position, product in enumerate(products, start=start):
        price, cur = _price_for(product, request)
        currency = currency or cur
        items.append(item(item_id_=item_id(product), name=product.get_title(), price=price, quantity=quantity,
                          categories=cats.get(product.pk, ()), brand=brands.get(product.pk),
                          index=position if list_name or list_id else None, list_name=list_name,
                          list_id=list_id))
    return items, currency_of(currency)


def _value(items):
    return money(sum(Decimal(str(i.get("price") or 0)) * i.get("quantity", 1) for i in items))


# Events -----------------------------------------------------------------------------------------------------
def view_item(product, request=None) -> dict:
    items, currency = product_items([product], request)
    return {"currency": currency, "value": _value(items), "items": items}


def view_item_list(products, list_name, list_id=None, request=None) -> dict:
    list_id = list_id or slug(list_name)
    items, _currency = product_items(products, request, list_name=list_name, list_id=list_id)
    return {"item_list_id": list_id, "item_list_name": str(list_name), "items": items}


def add_to_cart(product, quantity=1, request=None) -> dict:
    items, currency = product_items([product], request, quantity=quantity)
    return {"currency": currency, "value": _value(items), "items": items}


def remove_from_cart(product_id, quantity=1, price=None, request=None) -> dict:
    Product = get_model("catalogue", "Product")
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        return {}
    cats = categories_for([product.pk])
    items = [item(item_id_=item_id(product), name=product.get_title(), price=price, quantity=quantity,
                  categories=cats.get(product.pk, ()), brand=brands_for([product.pk]).get(product.pk))]
    return {"currency": currency_of(), "value": _value(items), "items": items}


def basket_items(basket):
    lines = list(basket.all_lines())
    ids = [line.product_id for line in lines]
    cats, brands = categories_for(ids), brands_for(ids)
    items = []
    for index, line in enumerate(lines, start=1):
        try:
            price = line.unit_price_incl_tax if line.is_tax_known else line.unit_price_excl_tax
        except Exception:  # noqa: BLE001 - a line without a strategy price
            price = None
        items.append(item(item_id_=item_id(line.product) if line.product else str(line.product_id),
                          name=line.product.get_title() if line.product else line.description, price=price,
                          quantity=line.quantity, categories=cats.get(line.product_id, ()),
                          brand=brands.get(line.product_id), index=index))
    return items


def _basket_total(basket):
    try:
        return basket.total_incl_tax if basket.is_tax_known else basket.total_excl_tax
    except Exception:  # noqa: BLE001
        return None


def view_cart(basket) -> dict:
    items = basket_items(basket)
    return {"currency": basket.currency or currency_of(), "value": money(_basket_total(basket)) or _value(items),
            "items": items}


def begin_checkout(basket) -> dict:
    payload = view_cart(basket)
    codes = [v.code for v in basket.vouchers.all()] if basket.id else []
    if codes:
        payload["coupon"] = ",".join(codes)
    return payload


def purchase(order) -> dict:
    lines = list(order.lines.all())
    ids = [line.product_id for line in lines]
    cats, brands = categories_for(ids), brands_for(ids)
    codes = sorted({d.voucher_code for d in order.discounts.all() if d.voucher_code})
    items = [item(item_id_=item_id(upc=line.upc, pk=line.product_id or line.partner_sku),
                  name=line.title, price=line.unit_price_incl_tax, quantity=line.quantity,
                  categories=cats.get(line.product_id, ()), brand=brands.get(line.product_id), index=index)
             for index, line in enumerate(lines, start=1)]
    payload = {"transaction_id": order.number, "currency": order.currency or currency_of(),
               "value": money(order.basket_total_incl_tax), "tax": money(order.total_tax),
               "shipping": money(order.shipping_incl_tax), "items": items}
    if codes:
        payload["coupon"] = ",".join(codes)
    return payload


def refund(order) -> dict:
    payload = purchase(order)
    payload.pop("coupon", None)
    return payload


def slug(text) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")[:100]


# Queueing events for the page (automatic events) ---------------------------------------------------------
def queue(name, ref, request=None) -> None:
    """Queue a GA4 event (by reference) for the page this request renders or, after a redirect, the next one."""
    if not journey_settings.GA4_AUTO_EVENTS:
        return
    request = request or events.current_request()
    capture = getattr(request, events.CAPTURE_ATTR, None) if request is not None else None
    if capture is None or not active(request):
        return
    capture.ga4.append([name, ref])


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
        pending += capture.ga4
        capture.ga4 = []
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
        return view_item(product, request) if product else None
    if name == "add_to_cart":
        product = Product.objects.filter(pk=ref[0]).first()
        return add_to_cart(product, ref[1], request) if product else None
    if name == "remove_from_cart":
        return remove_from_cart(ref[0], ref[1], Decimal(ref[2]) if ref[2] else None, request) or None
    if name == "begin_checkout":
        basket = getattr(request, "basket", None)
        if basket is None or basket.id != ref:
            return None  # only the shopper's own basket
        return begin_checkout(basket)
    if name == "purchase":
        order = Order.objects.filter(pk=ref).first()
        return purchase(order) if order else None
    if name == "view_cart":
        basket = Basket.objects.filter(pk=ref).first()
        return view_cart(basket) if basket else None
    return None


def carry_over(request, response, capture) -> None:
    """End of the request (middleware): events not rendered on this response go to the next page in a signed
    cookie (only with analytics consent); a carried cookie that was rendered is removed."""
    carried = request.COOKIES.get(COOKIE)
    left = capture.ga4 if capture is not None else []
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


def schedule(order_id, kind, client_id) -> bool:
    """Create the delivery row (once per order and kind) and send it from a Celery task after commit."""
    from .ga4_models import GA4Delivery

    if not mp_configured() or not client_id:
        return False
    try:
        with transaction.atomic():
            delivery = GA4Delivery.objects.create(order_id=order_id, kind=kind, client_id=client_id)
    except IntegrityError:
        return False  # already scheduled (or sent) for this order
    transaction.on_commit(lambda: _enqueue(delivery.pk))
    return True


def _enqueue(delivery_id):
    from .tasks import ga4_send

    try:
        ga4_send.delay(delivery_id)
    except Exception:  # noqa: BLE001 - the broker is down: the periodic job sends it
        logger.warning("journey: GA4 delivery %s left for the periodic job", delivery_id, exc_info=True)


def payload_for(delivery) -> dict:
    Order = get_model("order", "Order")
    order = Order.objects.get(pk=delivery.order_id)
    params = purchase(order) if delivery.kind == "purchase" else refund(order)
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


def after_checkout(order, request) -> None:
    """post_checkout: schedule the server-side purchase when configured and the shopper allowed analytics."""
    if mp_configured() and consent.allows(request, consent.ANALYTICS):
        schedule(order.pk, "purchase", client_id_for(request))


def order_status_changed(sender, order, old_status=None, new_status=None, **kwargs):
    """A refund status (``JOURNEY["GA4_REFUND_STATUSES"]``) sends a refund for an order whose purchase was sent."""
    from .ga4_models import GA4Delivery

    if new_status not in set(journey_settings.GA4_REFUND_STATUSES) or not mp_configured():
        return
    purchase_row = GA4Delivery.objects.filter(order_id=order.pk, kind="purchase").first()
    if purchase_row is not None:
        schedule(order.pk, "refund", purchase_row.client_id)
