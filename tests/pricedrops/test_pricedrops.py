"""Price-drop alerts: a customer keeps products in a basket or a wish list (through the storefront), a price falls
by the configured share, and the scan and the send job mail them once, batched per person."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from oscar.test.factories import create_product

from journey.core import outbox
from journey.core.models import Message
from journey.loyalty.profiles.models import CustomerProfile
from journey.pricedrops import services
from journey.pricedrops.models import PriceWatch
from journey.test.checkout import add_to_basket, signed_in_checkout

pytestmark = pytest.mark.django_db


def make_customer(client, name="ana"):
    user = get_user_model().objects.create_user(username=name, email=f"{name}@example.com", password="pw")
    client.force_login(user)
    return user


@pytest.fixture
def customer(shopper):
    return make_customer(shopper)


@pytest.fixture
def products():
    return [create_product(title=title, price=Decimal("20.00"), num_in_stock=5)
            for title in ("Blue Teapot", "Green Mug", "Red Kettle")]


def keep_in_wish_list(client, product):
    response = client.post(reverse("customer:wishlists-add-product", args=[product.pk]))
    assert response.status_code == 302, response.status_code


def set_price(product, price):
    product.stockrecords.update(price=Decimal(price))


def scan_and_send(now=None):
    now = now or timezone.now()
    report = services.scan(now)
    outbox.send_due(now=now)
    return report


def test_a_drop_on_basket_and_wish_list_products_gives_one_mail_listing_them(shopper, customer, products):
    add_to_basket(shopper, products[0])
    keep_in_wish_list(shopper, products[1])
    keep_in_wish_list(shopper, products[2])
    assert scan_and_send().recorded == 3
    assert set(PriceWatch.objects.values_list("source", flat=True)) == {"basket", "wishlist"}
    assert mail.outbox == []  # no drop yet
    set_price(products[0], "17.00")  # -15 %
    set_price(products[1], "15.00")  # -25 %
    set_price(products[2], "19.00")  # -5 %: below the 10 % threshold
    report = scan_and_send()
    assert (report.drops, report.scheduled) == (2, 1)
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ana@example.com"]
    assert "Blue Teapot" in sent.body and "Green Mug" in sent.body and "Red Kettle" not in sent.body
    assert "17.00" in sent.body and "15.00" in sent.body
    assert re.search(rf"/journey/p/[A-Za-z0-9_\-]+/{products[1].pk}/", sent.body)


def test_once_per_drop_and_again_for_a_further_drop(shopper, customer, products):
    keep_in_wish_list(shopper, products[0])
    services.scan()
    set_price(products[0], "16.00")
    assert scan_and_send().scheduled == 1
    assert scan_and_send().scheduled == 0  # the same drop: not again
    assert scan_and_send(timezone.now() + timedelta(days=3)).scheduled == 0
    set_price(products[0], "15.50")  # a little lower: not a new drop of 10 %
    assert scan_and_send().scheduled == 0
    set_price(products[0], "14.00")  # 12.5 % below the last alert's price: a new drop
    assert scan_and_send().scheduled == 1
    set_price(products[0], "20.00")  # back up: the next fall is a new drop again
    services.scan()
    set_price(products[0], "17.00")
    assert scan_and_send().scheduled == 1
    assert len(mail.outbox) == 3


def test_each_person_gets_their_own_mail(client, shopper, customer, products):
    keep_in_wish_list(shopper, products[0])
    other = make_customer(client, "bo")
    keep_in_wish_list(client, products[0])
    add_to_basket(client, products[1])
    services.scan()
    set_price(products[0], "10.00")
    set_price(products[1], "10.00")
    assert scan_and_send().scheduled == 2
    by_person = {m.to[0]: m.body for m in mail.outbox}
    assert "Green Mug" in by_person[other.email] and "Green Mug" not in by_person["ana@example.com"]


def test_no_mail_without_marketing_consent(shopper, customer, products, settings):
    keep_in_wish_list(shopper, products[0])
    services.scan()
    set_price(products[0], "10.00")
    CustomerProfile.objects.create(user=customer, marketing_consent=CustomerProfile.Consent.WITHDRAWN)
    assert scan_and_send().scheduled == 0
    CustomerProfile.objects.filter(user=customer).update(marketing_consent=CustomerProfile.Consent.UNKNOWN)
    settings.JOURNEY = {**settings.JOURNEY, "CONSENT_POLICY": "consent"}
    assert scan_and_send().scheduled == 0
    CustomerProfile.objects.filter(user=customer).update(marketing_consent=CustomerProfile.Consent.GRANTED)
    assert scan_and_send().scheduled == 1
    assert len(mail.outbox) == 1


def test_no_mail_when_the_product_is_no_longer_available(shopper, customer, products):
    keep_in_wish_list(shopper, products[0])
    keep_in_wish_list(shopper, products[1])
    services.scan()
    set_price(products[0], "10.00")
    products[0].stockrecords.update(num_in_stock=0)
    products[1].is_public = False
    products[1].save()
    set_price(products[1], "10.00")
    assert scan_and_send().scheduled == 0
    assert mail.outbox == []


def test_a_product_sold_out_after_scheduling_is_left_out_at_send_time(shopper, customer, products):
    keep_in_wish_list(shopper, products[0])
    services.scan()
    set_price(products[0], "10.00")
    now = timezone.now()
    assert services.scan(now).scheduled == 1
    products[0].stockrecords.update(num_in_stock=0)
    outbox.send_due(now=now)
    assert mail.outbox == []
    assert Message.objects.get(tool="price_drop").state == "cancelled"


def test_an_ordered_basket_is_no_longer_watched(shopper, customer, products):
    add_to_basket(shopper, products[0])
    services.scan()
    signed_in_checkout(shopper)
    set_price(products[0], "10.00")
    report = scan_and_send()
    assert (report.forgotten, report.scheduled) == (1, 0)
    assert not PriceWatch.objects.exists()


def test_alerts_can_be_turned_off(shopper, customer, products, settings):
    settings.JOURNEY = {**settings.JOURNEY, "PRICE_DROP_ALERTS": False}
    keep_in_wish_list(shopper, products[0])
    services.scan()
    set_price(products[0], "10.00")
    assert scan_and_send().scheduled == 0
