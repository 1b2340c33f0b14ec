"""The campaign link for real visitors only: no basket until something is added, bots and previews skipped,
throttled per client, and numbers that count real baskets."""

from decimal import Decimal

import pytest
from django.test import Client
from oscar.core.loading import get_model
from oscar.test.factories import create_product

from journey.core.models import JourneyEvent
from journey.promotions.campaigns.lifecycle import create_campaign
from journey.promotions.campaigns.models import CampaignTouch
from journey.promotions.campaigns.numbers import campaign_numbers
from tests.conftest import BROWSER_USER_AGENT

pytestmark = pytest.mark.django_db
Basket = get_model("basket", "Basket")


def make_campaign(**kwargs):
    defaults = {"name": "Summer sale", "slug": "summer", "kind": "percentage", "value": 10, "channel": "facebook"}
    return create_campaign(**{**defaults, **kwargs})


def browser(ip="198.51.100.7"):
    return Client(HTTP_USER_AGENT=BROWSER_USER_AGENT, REMOTE_ADDR=ip)


def landings():
    return JourneyEvent.objects.filter(kind="landing", tool="campaigns").count()


def add(client, product):
    assert client.post(f"/basket/add/{product.pk}/", {"quantity": 1}).status_code == 302


def voucher_discount(basket):
    return sum((d["discount"] for d in basket.grouped_voucher_discounts), Decimal("0.00"))


def test_twenty_hits_on_the_link_create_no_basket_but_twenty_landings():
    campaign = make_campaign()
    for i in range(20):
        response = browser(f"198.51.100.{i}").get("/journey/c/summer/?utm_source=newsletter")
        assert response.status_code == 302
    assert Basket.objects.count() == 0
    assert landings() == 20 and CampaignTouch.objects.count() == 20
    assert campaign_numbers(campaign).baskets == 0


def test_the_held_discount_goes_into_the_basket_the_first_addition_creates():
    campaign = make_campaign()
    product = create_product(price=Decimal("20.00"), num_in_stock=10)
    visitor = browser()
    visitor.get("/journey/c/summer/")
    assert Basket.objects.count() == 0
    add(visitor, product)
    basket = visitor.get("/basket/").context["basket"]
    assert basket.contains_voucher(campaign.voucher.code)
    assert voucher_discount(basket) == Decimal("2.00")
    assert campaign_numbers(campaign).baskets == 1
    add(visitor, create_product(price=Decimal("10.00"), num_in_stock=10))  # applied once, not again
    assert Basket.objects.get(pk=basket.pk).vouchers.count() == 1


def test_a_signed_in_visitor_with_an_empty_basket_gets_the_discount_on_the_first_addition(django_user_model):
    user = django_user_model.objects.create_user(username="ana", email="ana@example.com", password="pw")
    campaign = make_campaign()
    visitor = browser()
    visitor.force_login(user)
    visitor.get("/journey/c/summer/")
    assert not Basket.vouchers.through.objects.exists()
    add(visitor, create_product(price=Decimal("20.00"), num_in_stock=10))
    assert Basket.objects.get(owner=user, status=Basket.OPEN).contains_voucher(campaign.voucher.code)


def test_a_visitor_whose_basket_holds_lines_gets_the_discount_at_once():
    campaign = make_campaign()
    visitor = browser()
    add(visitor, create_product(price=Decimal("20.00"), num_in_stock=10))
    visitor.get("/journey/c/summer/")
    basket = visitor.get("/basket/").context["basket"]
    assert basket.contains_voucher(campaign.voucher.code) and voucher_discount(basket) == Decimal("2.00")


@pytest.mark.parametrize("user_agent", [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23.20.0",
    "Twitterbot/1.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "",
])
def test_bots_and_link_previews_are_redirected_without_a_basket_a_touch_or_a_landing(user_agent):
    make_campaign()
    response = Client(HTTP_USER_AGENT=user_agent).get("/journey/c/summer/")
    assert response.status_code == 302
    assert Basket.objects.count() == 0 and CampaignTouch.objects.count() == 0
    assert not JourneyEvent.objects.exists()
    assert "sessionid" not in response.cookies


def test_a_browser_prefetch_or_a_head_request_records_nothing():
    make_campaign()
    assert browser().get("/journey/c/summer/", HTTP_SEC_PURPOSE="prefetch").status_code == 302
    assert browser().head("/journey/c/summer/").status_code == 302
    assert CampaignTouch.objects.count() == 0 and landings() == 0


def test_one_client_hammering_the_link_is_throttled(settings):
    settings.JOURNEY = {**settings.JOURNEY, "CAMPAIGN_LINK_RATE_LIMIT": (3, 600)}
    make_campaign()
    for _i in range(6):
        assert browser("203.0.113.5").get("/journey/c/summer/").status_code == 302
    assert landings() == 3 and CampaignTouch.objects.get().landings == 3  # one client: one visitor id
    browser("203.0.113.6").get("/journey/c/summer/")
    assert landings() == 4


def test_promotions_api_tells_which_campaign_discount_a_visitor_holds_until_it_is_in_the_basket():
    from journey.promotions import api

    campaign = make_campaign()
    visitor = browser()
    visitor.get("/journey/c/summer/")
    request = visitor.get("/basket/").wsgi_request
    assert api.held_campaign(request) == campaign
    add(visitor, create_product(price=Decimal("20.00"), num_in_stock=10))
    assert api.held_campaign(visitor.get("/basket/").wsgi_request) is None
