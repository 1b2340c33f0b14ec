"""One word for the basket on the demo shop's storefront, in each language, whoever's string it is (Oscar's or
journey's): English says "basket" as Oscar's source does, Spanish says "carrito" as Oscar's Spanish catalogue does."""

import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from oscar.test.factories import create_product

pytestmark = pytest.mark.django_db


def visible_text(response):
    page = response.content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    # What a shopper reads: text, and the words of buttons, fields and pictures.
    words = re.findall(r"""\b(?:value|placeholder|title|alt|aria-label)="([^"]*)\"""", page)
    return html.unescape(" ".join([re.sub(r"<[^>]+>", " ", page), *words]))


@pytest.mark.parametrize(("language", "word", "other"), [("en", "basket", "cart"), ("es", "carrito", "cesta")])
def test_the_storefront_product_and_basket_pages_use_one_word_for_the_basket(client, language, word, other):
    product = create_product(title="Strawberry Jam", price=Decimal("3.00"), num_in_stock=5)
    product_page = client.get(product.get_absolute_url(), HTTP_ACCEPT_LANGUAGE=language)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1}, HTTP_ACCEPT_LANGUAGE=language)
    basket_page = client.get(reverse("basket:summary"), HTTP_ACCEPT_LANGUAGE=language)
    for name, response in (("product", product_page), ("basket", basket_page)):
        assert response.status_code == 200
        text = visible_text(response)
        assert "Strawberry Jam" in text  # the page really is the product / the basket holding it
        assert word in text.lower(), f"{name} page ({language}) never says {word!r}"
        wrong = sorted({m.group(0) for m in re.finditer(rf"[^\n]{{0,40}}\b{other}s?\b[^\n]{{0,40}}", text, re.I)})
        assert wrong == [], f"{name} page ({language}) says {other!r}: {wrong}"
