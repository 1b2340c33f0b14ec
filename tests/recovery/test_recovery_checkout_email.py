"""Oscar's guest checkout gateway comes pre-filled with the address journey already has for the basket: the one given
in the "email me my basket" card, or the one a recovery mail went to (also on another device)."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from oscar.test.factories import create_product

from journey.recovery.models import BasketActivity
from tests.conftest import BROWSER_USER_AGENT

from .test_recovery_restore import guest_basket, mail_link

pytestmark = pytest.mark.django_db


def restore_link(email):
    """The restore link of a recovery mail sent to ``email`` for a guest basket built on another device."""
    return mail_link(guest_basket(email=email))


def gateway_email(client):
    response = client.get(reverse("checkout:index"))
    assert response.status_code == 200
    return response.context["form"]["username"].value()


def test_the_gateway_is_prefilled_with_the_address_given_in_the_email_my_basket_card(client):
    product = create_product(price=Decimal("3.00"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    client.post(reverse("journey:email-basket"), {"email": "Ana@Example.com"})
    assert gateway_email(client) == "ana@example.com"
    assert 'value="ana@example.com"' in client.get(reverse("checkout:index")).content.decode()


def test_a_restored_basket_on_another_device_brings_the_address_the_mail_went_to():
    # Another device, with no basket of its own: the mail's link moves the basket into a new one there.
    phone = Client(HTTP_USER_AGENT=BROWSER_USER_AGENT)
    phone.get(restore_link("guest@example.com"))
    assert gateway_email(phone) == "guest@example.com"


def test_a_link_opened_where_a_basket_already_holds_lines_brings_no_one_elses_address(client):
    product = create_product(price=Decimal("3.00"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    client.get(restore_link("sender@example.com"))
    assert gateway_email(client) in (None, "")


def test_what_the_guest_typed_at_the_gateway_is_kept(client):
    product = create_product(price=Decimal("3.00"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    client.post(reverse("checkout:index"), {"username": "typed@example.com", "options": "anonymous"})
    BasketActivity.objects.update(email="other@example.com")
    assert gateway_email(client) == "typed@example.com"


def test_a_basket_without_a_known_address_gets_an_empty_gateway(client):
    product = create_product(price=Decimal("3.00"), num_in_stock=5)
    client.post(reverse("basket:add", args=[product.pk]), {"quantity": 1})
    assert gateway_email(client) in (None, "")
