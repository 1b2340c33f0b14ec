"""GA4's e-commerce payloads: the parameters of each event in GA4's item schema (``item_id``, ``item_name``,
``item_category``…), built from Oscar's products, baskets and orders.  Pure: nothing is rendered or sent here
(``journey.insights.ga4`` queues and sends them, ``journey.insights.page_tags`` renders them).

    from journey.insights import ga4_payloads
    ga4_payloads.view_item(product, request)      # {"currency", "value", "items": [...]}
    ga4_payloads.view_item_list(products, "Category: Cheese"); add_to_cart(product, 2); remove_from_cart(pk, 1)
    ga4_payloads.view_cart(basket); begin_checkout(basket); purchase(order); refund(order)
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from oscar.core.loading import get_model

from ..conf import journey_settings


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
