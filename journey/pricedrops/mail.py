"""The price-drop alert: its template context, built at send time (the products still public, available and
still cheaper than before), a fixed number of queries for a batch."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from oscar.core.loading import get_class, get_model

from ..conf import journey_settings
from ..core import outbox, product_links
from ..core.outbox import MessageKind, NotEligible, register_kind
from .services import MAIL_KIND, TOOL

Product = get_model("catalogue", "Product")
Selector = get_class("partner.strategy", "Selector")
TEMPLATE = "journey/pricedrops/mail"


def _image_url(product):
    image = product.primary_image()
    url = image.original.url if getattr(image, "original", None) and hasattr(image.original, "url") else None
    if not url:
        return ""
    return url if url.startswith("http") else outbox.absolute_url(url)


def alert_context(items, *, customer_name=""):
    """The templates' context: ``items`` are dicts with product, was, now, url."""
    for item in items:
        item.setdefault("title", item["product"].get_title())
        item.setdefault("image_url", _image_url(item["product"]))
        item["saving"] = item["was"] - item["now"]
        item["percent"] = int(((item["was"] - item["now"]) / item["was"] * 100).to_integral_value()) \
            if item["was"] else 0
    return {"items": items, "product": items[0]["product"] if items else None,
            "action_url": items[0]["url"] if items else outbox.absolute_url("/"),
            "currency": settings.OSCAR_DEFAULT_CURRENCY, "customer_name": customer_name,
            "shop_name": settings.OSCAR_SHOP_NAME}


def prepare_batch(messages):
    contexts = {}
    strategy = Selector().strategy()
    wanted = {d["product_id"] for m in messages for d in (m.context or {}).get("drops", [])}
    products = {p.pk: p for p in Product.objects.filter(pk__in=wanted, is_public=True)
                .select_related("product_class", "parent").prefetch_related("stockrecords", "images")}
    users = get_user_model().objects.in_bulk({m.user_id for m in messages if m.user_id})
    raws = product_links.issue_tokens([m.pk for m in messages],
                                      ttl=timedelta(days=journey_settings.PRICE_DROP_LINK_DAYS))
    for message in messages:
        items = []
        for drop in (message.context or {}).get("drops", []):
            product = products.get(drop["product_id"])
            if product is None:
                continue
            info = strategy.fetch_for_product(product)
            if not info.availability.is_available_to_buy or not info.price.exists:
                continue
            now_price = info.stockrecord.price if info.stockrecord is not None else None
            was = Decimal(drop["was"])
            if now_price is None or now_price >= was:
                continue  # the price went back up before the alert went out
            items.append({"product": product, "was": was, "now": now_price,
                          "url": product_links.link(raws[message.pk], product.pk)})
        if not items:
            contexts[message.pk] = NotEligible("none of the products is available and cheaper any more")
            continue
        user = users.get(message.user_id)
        contexts[message.pk] = alert_context(items, customer_name=(user.get_full_name() or "").strip()
                                             if user else "")
    return contexts


register_kind(MessageKind(key=MAIL_KIND, tool=TOOL, template=TEMPLATE,
                          prepare_batch=prepare_batch, tags=("price-drop",), priority=30))
