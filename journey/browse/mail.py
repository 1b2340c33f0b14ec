"""The browse reminder: its template context, built at send time after checking it is still wanted.

At send time a batch of reminders costs a fixed number of queries: the shoppers' orders and basket additions since
their first counted view and their recovery sequences (``services.still_due``), the products with their stock
records and images, the related products (``related.api``) and the link tokens."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from oscar.core.loading import get_class, get_model

from ..conf import journey_settings
from ..core import outbox, product_links
from ..core.outbox import MessageKind, NotEligible, register_kind
from ..related.api import related_for_product_lists
from .models import DEFAULT_TEMPLATE, BrowseProgram
from .services import MAIL_KIND, TOOL, still_due

Product = get_model("catalogue", "Product")
Selector = get_class("partner.strategy", "Selector")


def link_ttl():
    return timedelta(days=journey_settings.BROWSE_LINK_DAYS)


def image_url(product):
    image = product.primary_image()
    url = image.original.url if getattr(image, "original", None) and hasattr(image.original, "url") else None
    if not url:
        return ""
    return url if url.startswith("http") else outbox.absolute_url(url)


def available_products(product_ids, strategy):
    """``{id: Product}`` of the given products still public and available to buy (stock records and images
    prefetched: one query each for the whole batch)."""
    products = (Product.objects.filter(pk__in=set(product_ids), is_public=True)
                .select_related("product_class", "parent", "parent__product_class")
                .prefetch_related("stockrecords", "images"))
    return {p.pk: p for p in products if strategy.fetch_for_product(p).availability.is_available_to_buy}


def product_entry(product, strategy, link):
    info = strategy.fetch_for_product(product)
    price = info.price
    amount = price.incl_tax if price.exists and price.is_tax_known else (price.excl_tax if price.exists else None)
    return {"product": product, "title": product.get_title(), "price": amount,
            "currency": getattr(price, "currency", "") or settings.OSCAR_DEFAULT_CURRENCY,
            "image_url": image_url(product), "url": link}


def reminder_context(products, related, link_for, *, customer_name="", template=DEFAULT_TEMPLATE, strategy=None):
    """The context a reminder's templates get (also the admin's preview): ``products`` and ``related`` are
    Products, ``link_for(product)`` their links."""
    strategy = strategy or Selector().strategy()
    viewed = [product_entry(p, strategy, link_for(p)) for p in products]
    return {
        "products": viewed, "product": viewed[0]["product"] if viewed else None,
        "related": [product_entry(p, strategy, link_for(p)) for p in related],
        "related_products": related, "action_url": viewed[0]["url"] if viewed else outbox.absolute_url("/"),
        "customer_name": customer_name, "shop_name": settings.OSCAR_SHOP_NAME, "mail_template": template,
    }


def _since(message):
    value = parse_datetime((message.context or {}).get("since") or "")
    return value or message.created_at or timezone.now()


def _person(message):
    """(user id or None, visitor id, email, since) of a reminder: an account's, or a guest's."""
    context = message.context or {}
    return (context.get("user_id") or message.user_id, context.get("visitor_id", ""),
            context.get("email") or message.to_email, _since(message))


def prepare_batch(messages):
    """Contexts for a batch of browse reminders (see MessageKind.prepare_batch)."""
    contexts, live = {}, []
    for message in messages:
        uid, visitor, _email, _since_at = _person(message)
        if not (uid or visitor) or not (message.context or {}).get("product_ids"):
            contexts[message.pk] = NotEligible("the reminder names no shopper or no product")
        else:
            live.append((message, uid))
    reasons = still_due({m.pk: _person(m) for m, _uid in live})
    for message, _uid in live:
        if reasons[message.pk]:
            contexts[message.pk] = NotEligible(reasons[message.pk])
    live = [(m, uid) for m, uid in live if not reasons[m.pk]]
    if not live:
        return contexts
    strategy = Selector().strategy()
    wanted = {m.pk: list(m.context["product_ids"]) for m, _uid in live}
    available = available_products([pk for ids in wanted.values() for pk in ids], strategy)
    shown = {key: [available[pk] for pk in ids if pk in available] for key, ids in wanted.items()}
    related = related_for_product_lists({key: [p.pk for p in products] for key, products in shown.items() if products},
                                        journey_settings.BROWSE_RELATED_PRODUCTS)
    users = get_user_model().objects.in_bulk({uid for _m, uid in live if uid})
    program = BrowseProgram.load()
    raws = product_links.issue_tokens([m.pk for m, _uid in live], ttl=link_ttl())
    for message, uid in live:
        if not shown[message.pk]:
            contexts[message.pk] = NotEligible("none of the products is public and available any more")
            continue
        user = users.get(uid)
        raw = raws[message.pk]
        contexts[message.pk] = reminder_context(
            shown[message.pk], related.get(message.pk, []), lambda p, raw=raw: product_links.link(raw, p.pk),
            customer_name=(user.get_full_name() or "").strip() if user else "", template=program.template,
            strategy=strategy)
    return contexts


def action_url(message):
    """The on-site banner's button: the first viewed product, through the click-recording link."""
    product_ids = (message.context or {}).get("product_ids") or []
    if not product_ids:
        return outbox.absolute_url("/")
    return product_links.link(product_links.issue_tokens([message.pk], ttl=link_ttl())[message.pk], product_ids[0])


register_kind(MessageKind(key=MAIL_KIND, tool=TOOL, template=DEFAULT_TEMPLATE,
                          prepare_batch=prepare_batch, tags=("browse",), action_url=action_url,
                          priority=20))  # after recovery (10), before post-purchase (40): the frequency cap
