"""A Spanish-speaking shopper on a phone (browser locale es-ES): the consent banner, the quantity hints, the related
lists and the cross-sell speak Spanish, and the consent record keeps the language the wording was shown in."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from oscar.test.factories import create_order, create_product

from journey.core.consent_models import ConsentRecord
from journey.related import services as related
from journey.test.factories import basket_with

from .conftest import PHONE
from .test_quantity_promotion import cheese_deal

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SPANISH = {**PHONE, "locale": "es-ES", "extra_http_headers": {"Accept-Language": "es-ES,es;q=0.9"}}


def test_a_spanish_speaking_shopper_reads_the_banner_hints_and_lists_in_spanish(browser, live_server, shot,
                                                                                 fresh_visitor):
    cheese, crackers = (create_product(title=t, price=Decimal(p), num_in_stock=20)
                        for t, p in (("Queso Manchego", "10.00"), ("Picos de Jerez", "3.00")))
    cheese_deal(cheese)  # 2+ for 10 % off, 3+ for 15 % off
    for _ in range(3):
        order = create_order(basket=basket_with([cheese, crackers]))
        order.date_placed = timezone.now() - timedelta(days=1)
        order.save()
    related.rebuild()

    context = browser.new_context(**SPANISH)
    page = context.new_page()
    page.goto(live_server.url + cheese.get_absolute_url())
    assert page.evaluate("navigator.language") == "es-ES"
    assert page.locator("html").get_attribute("lang") == "es"

    # The consent banner.
    banner = page.get_by_role("dialog", name="Cookies y tu privacidad")
    assert banner.is_visible()
    banner.locator("summary").click()  # the details: the categories and "Guardar selección"
    assert "Elige las cookies que permites" in banner.inner_text()
    assert page.get_by_label("Necesarias", exact=True).is_disabled()
    assert "Nos ayudan a entender cómo se usa la tienda" in banner.inner_text()  # the analytics category's help
    for button in ("Rechazar todas", "Guardar selección", "Aceptar todas"):
        assert banner.get_by_role("button", name=button).is_visible()
    shot(page, "banner")
    banner.get_by_role("button", name="Rechazar todas").click()
    page.wait_for_function("document.getElementById('journey-consent').hidden")
    assert page.get_by_role("link", name="Configuración de cookies").is_visible()

    # The product page: the quantity hint and the bought-together list.
    assert "Compra 2 o más y obtén un 10 % de descuento" in page.inner_text("[data-journey-quantity-hint]")
    assert page.locator("[data-journey-list='1'] h2").inner_text() == "Quienes compraron esto también compraron"
    shot(page, "product-page")
    page.locator("#add_to_basket_form button[type=submit]").click()
    page.wait_for_load_state()

    # The basket: the next tier's hint and the cross-sell.
    page.goto(live_server.url + "/basket/")
    assert "Cheese deal: Añade 1 más y obtén un 10 % de descuento" in page.inner_text(
        "[data-journey-quantity-hints]")
    assert page.locator("[data-journey-list='2'] h2").inner_text() == "Completa tu carrito"
    shot(page, "basket")
    context.close()

    record = ConsentRecord.objects.get()
    assert (record.analytics, record.marketing, record.language) == (False, False, "es")
    assert "Cookies y tu privacidad" in record.wording


def test_the_spanish_banner_names_the_analytics_category_analiticas(browser, live_server, fresh_visitor):
    context = browser.new_context(**SPANISH)
    page = context.new_page()
    page.goto(live_server.url + "/journey/consent/")
    label = page.locator("label[for=journey-consent-analytics]").inner_text()
    context.close()
    assert label == "Analíticas"


def test_an_english_browser_gets_the_same_pages_in_english(browser, live_server, fresh_visitor):
    """The counterpart: the labels above are the translation, not text that happens to be Spanish."""
    cheese = create_product(title="Queso Manchego", price=Decimal("10.00"), num_in_stock=20)
    cheese_deal(cheese)
    context = browser.new_context(**PHONE, locale="en-US", extra_http_headers={"Accept-Language": "en-US,en"})
    page = context.new_page()
    page.goto(live_server.url + cheese.get_absolute_url())
    assert page.get_by_role("dialog", name="Cookies and your privacy").is_visible()
    assert "Buy 2 or more for 10 % off" in page.inner_text("[data-journey-quantity-hint]")
    assert re.search(r"Reject all", page.inner_text("#journey-consent"))
    context.close()
