"""Case C26: journey's storefront forms that change something refuse a POST without the CSRF token (a browser
with the shop's cookies, on another site's page) and accept it with the token the page gave."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from oscar.core.loading import get_model
from oscar.test.factories import UserFactory, create_product

from journey.loyalty.profiles.models import CustomerProfile
from journey.promotions.campaigns.lifecycle import create_campaign
from journey.recovery.models import BasketActivity

pytestmark = pytest.mark.django_db
Basket = get_model("basket", "Basket")


def csrf_client():
    return Client(enforce_csrf_checks=True)


def token_of(client):
    client.get(reverse("basket:summary"))  # any page with a form sets the cookie
    return client.cookies["csrftoken"].value


def with_basket(client):
    product = create_product(title="Olive oil", price=Decimal("9.00"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1,
                                                           "csrfmiddlewaretoken": token_of(client)})
    assert Basket.objects.get().num_lines == 1
    return client


def test_the_email_my_basket_form_needs_the_csrf_token():
    client = with_basket(csrf_client())
    forged = client.post(reverse("journey:email-basket"), {"email": "victim@example.com", "consent": "on"})
    assert forged.status_code == 403
    assert not BasketActivity.objects.exclude(email="").exists()
    real = client.post(reverse("journey:email-basket"), {"email": "me@example.com", "consent": "on",
                                                         "csrfmiddlewaretoken": token_of(client)})
    assert real.status_code == 302
    assert BasketActivity.objects.get().email == "me@example.com"


def test_the_discount_code_form_needs_the_csrf_token():
    create_campaign(name="Radio", slug="radio", value=10, channel="other", code="RADIO10")
    client = with_basket(csrf_client())
    forged = client.post(reverse("journey:apply-code"), {"code": "RADIO10"})
    assert forged.status_code == 403
    assert not Basket.objects.get().vouchers.exists()
    real = client.post(reverse("journey:apply-code"), {"code": "RADIO10", "csrfmiddlewaretoken": token_of(client)})
    assert real.status_code == 302
    assert Basket.objects.get().vouchers.get().code == "RADIO10"


def test_the_profile_form_needs_the_csrf_token():
    user = UserFactory(email="ana@example.com")
    client = csrf_client()
    client.force_login(user)
    url = reverse("journey:account-profile")
    form = {"birth_day": "4", "birth_month": "5", "birth_year": "", "marketing_consent": "granted", "language": ""}
    forged = client.post(url, form)
    assert forged.status_code == 403
    assert not CustomerProfile.objects.filter(user=user).exists()
    client.get(url)
    real = client.post(url, {**form, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert real.status_code == 302
    assert CustomerProfile.objects.get(user=user).marketing_consent == "granted"
