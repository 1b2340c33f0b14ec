"""Shopper path 1 in a real browser: an ad link brings a shopper on a phone, the discount shows in the basket, and he
checks out as a guest through every one of Oscar's checkout pages; the order carries the campaign's discount."""

import re
from decimal import Decimal

import pytest
from oscar.core.loading import get_model
from oscar.test.factories import create_product

from journey.core.events import Kind
from journey.core.models import JourneyEvent
from journey.promotions.campaigns.lifecycle import create_campaign
from journey.test.checkout import shipping_country

from .conftest import PHONE

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ADD = re.compile(r"Add to (cart|basket)", re.I)
Order = get_model("order", "Order")
OrderDiscount = get_model("order", "OrderDiscount")


def test_a_shopper_from_an_ad_checks_out_as_a_guest_and_the_order_carries_the_campaign_discount(
        browser, live_server, shot):
    shipping_country()
    product = create_product(title="Organic Wildflower Honey", price=Decimal("20.00"), num_in_stock=10)
    campaign = create_campaign(name="Honey week", slug="honey-week", kind="percentage", value=10,
                                        channel="instagram")

    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(f"{live_server.url}/journey/c/honey-week/?utm_source=instagram&utm_medium=paid_social"
              f"&next={product.get_absolute_url()}")
    assert page.url == live_server.url + product.get_absolute_url()
    page.get_by_role("button", name=ADD).first.click()
    page.wait_for_load_state()

    # The basket: the campaign's line and the discounted total.
    page.goto(live_server.url + "/basket/")
    body = page.inner_text("body")
    assert "Honey week" in body and "$18.00" in body
    shot(page, "basket")

    # Oscar's gateway: a guest with an email address.
    page.get_by_role("link", name="Proceed to checkout").click()
    page.wait_for_url(re.compile(r".*/checkout/$"))
    page.fill("input[name=username]", "ana@example.com")
    page.check("input[name=options][value=anonymous]")
    shot(page, "gateway")
    page.get_by_role("button", name="Continue").click()

    # Shipping address.
    page.wait_for_url(re.compile(r".*/checkout/shipping-address/$"))
    page.fill("input[name=first_name]", "Ana")
    page.fill("input[name=last_name]", "García")
    page.fill("input[name=line1]", "1 Main St")
    page.fill("input[name=line4]", "Springfield")
    page.fill("input[name=state]", "IL")
    page.fill("input[name=postcode]", "62701")
    shot(page, "shipping-address")
    page.locator("form#new_shipping_address button[type=submit]").click()

    # Oscar skips the shipping-method page with a single (free) method and the payment-method page without a
    # choice; the payment-details page is the demo's "no payment needed" step.
    page.wait_for_url(re.compile(r".*/checkout/payment-details/$"))
    shot(page, "payment-details")
    page.locator("#view_preview").click()

    # Preview: the discount is in the totals; place the order.
    page.wait_for_url(re.compile(r".*/checkout/preview/$"))
    preview = page.inner_text("body")
    assert "Honey week" in preview and "$18.00" in preview and "1 Main St" in preview
    shot(page, "preview")
    page.locator("#place-order").click()

    page.wait_for_url(re.compile(r".*/checkout/thank-you/$"))
    thanks = page.inner_text("body")
    order = Order.objects.get()
    assert order.number in thanks and "$18.00" in thanks
    shot(page, "thank-you")
    phone.close()

    assert order.guest_email == "ana@example.com"
    assert order.total_incl_tax == Decimal("18.00")
    discount = OrderDiscount.objects.get(order=order)
    assert (discount.offer_id, discount.voucher_id, discount.voucher_code) == (
        campaign.offer_id, campaign.voucher_id, campaign.voucher.code)
    assert discount.amount == Decimal("2.00")
    # The journey recorded the campaign landing and the order of the same visit.
    landing = JourneyEvent.objects.get(kind=Kind.CAMPAIGN_LANDING, tool="campaigns", ref=str(campaign.pk))
    placed = JourneyEvent.objects.get(kind=Kind.ORDER_PLACED, order_id=order.pk)
    assert landing.visitor_id and placed.visitor_id == landing.visitor_id
    assert (landing.source, landing.medium, landing.device) == ("instagram", "paid_social", "mobile")
