"""Campaign discounts in a real browser: a shopper on a phone follows an ad link; a store owner creates the campaign."""

import re
from decimal import Decimal

import pytest
from oscar.test.factories import create_product

from journey.promotions.campaigns.lifecycle import create_campaign
from journey.promotions.campaigns.models import Campaign

from .conftest import PHONE

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ADD = re.compile(r"Add to (cart|basket)", re.I)


def test_a_shopper_on_a_phone_follows_an_ad_link_and_sees_the_discount_in_the_basket(browser, live_server, shot):
    product = create_product(title="Organic Wildflower Honey", price=Decimal("20.00"), num_in_stock=10)
    create_campaign(name="Honey week", slug="honey-week", kind="percentage", value=10, channel="instagram")

    phone = browser.new_context(**PHONE)  # a phone's Chrome: the link skips bots (and headless Chromium says so)
    page = phone.new_page()
    page.goto(f"{live_server.url}/journey/c/honey-week/?utm_source=instagram&utm_medium=paid_social"
              f"&next={product.get_absolute_url()}")
    assert page.url == live_server.url + product.get_absolute_url()  # landed on the product page
    assert "10 % off is waiting in your basket" in page.inner_text("body")
    shot(page, "product-page")
    page.get_by_role("button", name=ADD).first.click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/basket/")
    body = page.inner_text("body")
    assert "Organic Wildflower Honey" in body and "Honey week" in body
    assert "$18.00" in body  # 10 % off the $20.00 basket
    shot(page, "basket-with-discount")
    phone.close()


def test_a_store_owner_creates_a_campaign_and_gets_its_link_and_qr_code(browser, live_server, shot,
                                                                         sign_in_owner):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in_owner(page, "/admin/journey/campaign/add/")

    page.fill("#id_name", "Summer on Facebook")  # the link name follows (Django's prepopulated slug)
    page.select_option("#id_channel", "facebook")
    page.fill("#id_discount_value", "150")
    page.locator("input[name=_save]").click()
    page.wait_for_load_state()
    errors = page.locator(".errorlist").all_inner_texts()
    assert any("A percentage cannot be more than 100." in e for e in errors)
    assert not Campaign.objects.exists()
    shot(page, "invalid-percentage")

    page.fill("#id_discount_value", "15")
    page.uncheck("#id_is_draft")  # publish it
    page.locator("input[name=_save]").click()
    page.wait_for_url(re.compile(r".*/admin/journey/campaign/\d+/change/"))
    link = page.locator("[data-journey-share-link]").input_value()
    assert link.startswith(f"{live_server.url}/journey/c/summer-on-facebook/?utm_source=facebook"
                           "&utm_medium=paid_social")
    assert page.locator("[data-journey-status]").inner_text().startswith("Live")
    qr = page.locator("[data-journey-qr] svg")
    assert qr.count() == 1 and qr.bounding_box()["width"] > 100
    assert Campaign.objects.get().offer.benefit.value == Decimal("15.00")
    shot(page, "campaign-link-and-qr")
    context.close()
