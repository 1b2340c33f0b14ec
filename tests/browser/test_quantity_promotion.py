"""A shopper meets a quantity promotion and the discount-code form, in a real browser (headless Chromium)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import create_product

from journey.promotions.quantity import offers
from journey.promotions.quantity.models import QuantityPromotion, QuantityTier

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ADD = re.compile(r"Add to (cart|basket)", re.I)
Range = get_model("offer", "Range")
ConditionalOffer = get_model("offer", "ConditionalOffer")
Condition = get_model("offer", "Condition")
Benefit = get_model("offer", "Benefit")
Voucher = get_model("voucher", "Voucher")


def cheese_deal(*products):
    offer_range = Range.objects.create(name="Cheeses")
    for product in products:
        offer_range.add_product(product)
    promotion = QuantityPromotion.objects.create(name="Cheese deal", product_range=offer_range,
                                                          is_draft=False, starts_at=timezone.now() - timedelta(hours=1))
    for count, pct in ((2, "10"), (3, "15")):
        QuantityTier.objects.create(promotion=promotion, min_quantity=count, percentage=Decimal(pct))
    offers.sync_offers(promotion)


def spring_code():
    everything = Range.objects.create(name="Everything", includes_all_products=True)
    offer = ConditionalOffer.objects.create(
        name="Spring code", offer_type=ConditionalOffer.VOUCHER, exclusive=False,
        condition=Condition.objects.create(range=everything, type=Condition.COUNT, value=1),
        benefit=Benefit.objects.create(range=everything, type=Benefit.PERCENTAGE, value=Decimal("10")))
    now = timezone.now()
    voucher = Voucher.objects.create(name="Spring", code="SPRING10", usage=Voucher.MULTI_USE,
                                     start_datetime=now - timedelta(days=1), end_datetime=now + timedelta(days=7))
    voucher.offers.add(offer)


def add_to_basket(page, url):
    page.goto(url)
    page.get_by_role("button", name=ADD).first.click()
    page.wait_for_load_state()


def enter_code(page, code):
    page.goto(page.url.split("#")[0])
    link = page.locator("#voucher_form_link a")
    if link.is_visible():
        link.click()
    page.fill("#voucher_form input[name=code]", code)
    page.locator("#voucher_form button[type=submit]").click()
    page.wait_for_load_state()


def test_the_quantity_hint_leads_to_the_discount_and_codes_answer_plainly(browser, live_server, shot):
    cheese = create_product(title="Manchego", price=Decimal("10.00"), num_in_stock=20)
    bread = create_product(title="Sourdough", price=Decimal("4.00"), num_in_stock=20)
    cheese_deal(cheese)
    spring_code()

    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    page.goto(live_server.url + cheese.get_absolute_url())
    assert "Buy 2 or more for 10 % off" in page.inner_text("[data-journey-quantity-hint]")
    add_to_basket(page, live_server.url + cheese.get_absolute_url())
    page.goto(live_server.url + "/basket/")
    hints = page.inner_text("[data-journey-quantity-hints]")
    assert "add 1 more for 10 % off" in hints.lower()
    shot(page, "basket-one-item")

    add_to_basket(page, live_server.url + cheese.get_absolute_url())
    page.goto(live_server.url + "/basket/")
    body = page.inner_text("body")
    assert "Add 1 more for 15 % off" in page.inner_text("[data-journey-quantity-hints]")
    assert "$18.00" in body and "Cheese deal: 2+ items, 10 % off" in body
    shot(page, "basket-two-items-discount")

    add_to_basket(page, live_server.url + bread.get_absolute_url())
    page.goto(live_server.url + "/basket/")
    enter_code(page, "WRONG-CODE")
    assert "This code is not valid." in page.inner_text("body")
    shot(page, "wrong-code")
    enter_code(page, "spring10")
    body = page.inner_text("body")
    assert "10 % off applied" in body
    assert "$21.60" in body  # 18.00 for the cheese (tier) + 4.00 bread - 10 % code on the bread
    shot(page, "code-applied")
    context.close()
