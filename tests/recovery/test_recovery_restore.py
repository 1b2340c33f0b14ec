"""Restore links the shopper can trust: whose basket a link opens, what it says, and links that no longer work."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.signing import Signer
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import create_order, create_product

from journey.core import outbox, tokens
from journey.core.models import LinkToken, Message, PersonalVoucher, Suppression
from journey.recovery import services
from journey.recovery.models import BasketActivity, RecoveryStep
from journey.test.factories import basket_with, make_idle
from tests.conftest import BROWSER_USER_AGENT

Basket = get_model("basket", "Basket")
pytestmark = pytest.mark.django_db


def browser():
    return Client(HTTP_USER_AGENT=BROWSER_USER_AGENT)


def guest_basket(*products, email="guest@example.com"):
    basket = basket_with(products=list(products) or None)
    services.capture_email(basket, email, BasketActivity.Source.CHECKOUT)
    return basket


def mail_link(basket, *, step=1, incentive=False):
    """Send ``basket``'s recovery mail of ``step`` and return the restore link in it."""
    if incentive:
        RecoveryStep.objects.filter(position=step).update(incentive="percentage", incentive_value=Decimal("10"),
                                                          incentive_valid_days=7)
    now = timezone.now()
    anchor = make_idle(basket, 61, now)
    services.scan(now)
    outbox.send_due(now=anchor + timedelta(hours={1: 1, 2: 24, 3: 72}[step], seconds=1))
    body = mail.outbox[-1].body
    match = re.search(r"https?://[^/\s\"]+(/journey/r/[A-Za-z0-9_\-]+/)", body)
    assert match, body
    return match.group(1)


def titles(client):
    return [line.product.title for line in client.get(reverse("basket:summary")).context["basket"].all_lines()]


def add(client, product, quantity=1):
    response = client.post(reverse("basket:add", args=[product.pk]), {"quantity": quantity})
    assert response.status_code == 302


def texts(response):
    return [str(m) for m in response.context["messages"]]


# Whose basket a guest link opens ------------------------------------------------------------------------------------
def test_a_guest_link_on_a_new_device_gives_that_device_its_own_basket_the_sender_cannot_see():
    honey = create_product(title="Organic honey", price=Decimal("7.50"), num_in_stock=5)
    secret = create_product(title="Private gift", price=Decimal("3.00"), num_in_stock=5)
    sender_basket = guest_basket(honey)
    link = mail_link(sender_basket)
    sender = browser()
    sender.cookies["oscar_open_basket"] = Signer().sign(sender_basket.pk)  # the device that built the basket

    victim = browser()
    victim.get(link)
    assert titles(victim) == ["Organic honey"]
    victim_basket = victim.get(reverse("basket:summary")).context["basket"]
    assert victim_basket.pk != sender_basket.pk
    add(victim, secret)
    assert "Private gift" not in titles(sender)
    assert Basket.objects.get(pk=sender_basket.pk).status == Basket.MERGED


def test_a_guest_link_never_replaces_a_basket_holding_lines_it_merges_into_it():
    honey = create_product(title="Organic honey", price=Decimal("7.50"), num_in_stock=5)
    bread = create_product(title="Rye bread", price=Decimal("3.00"), num_in_stock=5)
    link = mail_link(guest_basket(honey))
    visitor = browser()
    add(visitor, bread)
    own = visitor.get(reverse("basket:summary")).context["basket"].pk
    response = visitor.get(link)
    assert "oscar_open_basket" not in response.cookies or response.cookies["oscar_open_basket"].value == \
        Signer().sign(own)
    page = visitor.get(reverse("basket:summary"))
    assert page.context["basket"].pk == own
    assert sorted(titles(visitor)) == ["Organic honey", "Rye bread"]


def test_the_same_device_keeps_its_basket_and_is_welcomed_back():
    honey = create_product(title="Organic honey", price=Decimal("7.50"), num_in_stock=5)
    basket = guest_basket(honey)
    link = mail_link(basket)
    device = browser()
    device.cookies["oscar_open_basket"] = Signer().sign(basket.pk)
    response = device.get(link, follow=True)
    assert response.context["basket"].pk == basket.pk
    assert "Welcome back! Your basket is as you left it." in texts(response)
    assert Basket.objects.get(pk=basket.pk).status == Basket.OPEN


def test_the_welcome_back_message_names_the_discount_applied():
    basket = guest_basket(create_product(price=Decimal("20.00"), num_in_stock=5))
    link = mail_link(basket, step=3, incentive=True)
    code = PersonalVoucher.objects.get().voucher.code
    response = browser().get(link, follow=True)
    assert response.context["basket"].total_incl_tax == Decimal("18.00")
    assert f"Welcome back! Your basket is as you left it, with your discount {code} applied." in texts(response)


def test_a_personal_voucher_follows_the_basket_to_the_new_device_and_only_there():
    basket = guest_basket(create_product(price=Decimal("20.00"), num_in_stock=5))
    link = mail_link(basket, step=3, incentive=True)
    binding = PersonalVoucher.objects.get()
    device = browser()
    restored = device.get(link, follow=True).context["basket"]
    binding.refresh_from_db()
    assert binding.basket_id == restored.pk
    other = browser()
    add(other, create_product(price=Decimal("20.00"), num_in_stock=5))
    response = other.post(reverse("basket:vouchers-add"), {"code": binding.voucher.code}, follow=True)
    assert response.context["basket"].total_incl_tax == Decimal("20.00")


# D27, D28: links that no longer work -----------------------------------------------------------------------------
def test_an_expired_link_shows_a_clear_page_without_any_basket_data():
    honey = create_product(title="Organic honey", price=Decimal("7.50"), num_in_stock=5)
    link = mail_link(guest_basket(honey))
    LinkToken.objects.filter(purpose="recovery").update(expires_at=timezone.now() - timedelta(seconds=1))
    response = browser().get(link)
    html = response.content.decode()
    assert response.status_code == 404
    assert "This link doesn't work any more" in html
    assert "Organic honey" not in html and "7.50" not in html and "guest@example.com" not in html


def test_a_link_to_an_ordered_basket_says_so_and_shows_none_of_its_lines():
    honey = create_product(title="Organic honey", price=Decimal("7.50"), num_in_stock=5)
    basket = guest_basket(honey)
    link = mail_link(basket)
    create_order(basket=basket, guest_email="guest@example.com")
    visitor = browser()
    response = visitor.get(link, follow=True)
    assert "You have already ordered this basket. Thank you!" in texts(response)
    assert titles(visitor) == []


def test_a_link_to_a_merged_basket_shows_the_unavailable_page():
    honey = create_product(title="Organic honey", price=Decimal("7.50"), num_in_stock=5)
    basket = guest_basket(honey)
    link = mail_link(basket)
    basket_with(owner=None).merge(basket)
    response = browser().get(link)
    assert response.status_code == 410
    assert "This basket can no longer be restored" in response.content.decode()
    assert "Organic honey" not in response.content.decode()


def test_using_a_link_twice_on_one_device_welcomes_back_and_on_another_device_shows_the_unavailable_page():
    honey = create_product(title="Organic honey", price=Decimal("7.50"), num_in_stock=5)
    link = mail_link(guest_basket(honey))
    device = browser()
    device.get(link)
    response = device.get(link, follow=True)
    assert response.status_code == 200 and "Welcome back! Your basket is as you left it." in texts(response)
    assert titles(device) == ["Organic honey"]
    other = browser()
    assert other.get(link).status_code == 410
    assert titles(other) == []


def test_a_guest_link_opened_by_another_signed_in_customer_is_refused_and_moves_nothing(django_user_model):
    django_user_model.objects.create_user(username="x", email="someone.else@example.com", password="pw")
    honey = create_product(title="Organic honey", price=Decimal("7.50"), num_in_stock=5)
    basket = guest_basket(honey)
    link = mail_link(basket)
    other = browser()
    assert other.login(username="x", password="pw")
    response = other.get(link)
    assert response.status_code == 403 and "Organic honey" not in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"
    assert titles(other) == []
    assert Basket.objects.get(pk=basket.pk).status == Basket.OPEN


# D30: restore, then sign in ----------------------------------------------------------------------------------------
def test_restore_then_sign_in_merges_the_basket_into_the_account_and_keeps_the_discount(django_user_model):
    user = django_user_model.objects.create_user(username="g", email="guest@example.com", password="pw")
    product = create_product(title="Organic honey", price=Decimal("20.00"), num_in_stock=5)
    link = mail_link(guest_basket(product), step=3, incentive=True)
    device = browser()
    device.get(link)
    session_before = device.cookies["sessionid"].value
    assert device.login(username="g", password="pw")
    assert device.cookies["sessionid"].value != session_before
    page = device.get(reverse("basket:summary"))
    basket = page.context["basket"]
    assert basket.owner_id == user.pk
    assert [line.product.title for line in basket.all_lines()] == ["Organic honey"]
    assert basket.total_incl_tax == Decimal("18.00")


# D32: cross-purpose tokens -------------------------------------------------------------------------------------------
def test_a_recovery_token_at_the_unsubscribe_view_does_nothing():
    link = mail_link(guest_basket())
    token = link.split("/")[-2]
    client = browser()
    assert client.get(reverse("journey:unsubscribe", args=[token])).status_code == 404
    assert client.post(reverse("journey:unsubscribe", args=[token])).status_code == 404
    assert not Suppression.objects.exists()


def test_an_unsubscribe_token_or_a_basket_cookie_at_the_restore_view_opens_nothing():
    basket = guest_basket(create_product(title="Organic honey", price=Decimal("7.50"), num_in_stock=5))
    mail_link(basket)
    message = Message.objects.filter(step=1).first()
    unsubscribe = tokens.issue("unsubscribe", object_id=str(message.pk), data={"email": "guest@example.com"},
                               ttl=timedelta(days=30))
    cookie = Signer().sign(basket.pk)
    for token in (unsubscribe, cookie, str(message.pk)):
        visitor = browser()
        response = visitor.get(reverse("journey:restore-basket", args=[token]))
        assert response.status_code == 404
        assert "Organic honey" not in response.content.decode()
        assert titles(visitor) == []
    assert Basket.objects.get(pk=basket.pk).status == Basket.OPEN
    assert Message.objects.get(pk=message.pk).clicked_at is None


# The decision, without HTTP -------------------------------------------------------------------------------------
def anonymous_request():
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    SessionMiddleware(lambda r: None).process_request(request)
    request.user = AnonymousUser()
    return request


def test_the_restore_service_refuses_an_unknown_token_and_sends_an_owner_s_link_to_sign_in(django_user_model):
    from journey.recovery import restore

    owner = django_user_model.objects.create_user(username="o", email="owner@example.com", password="pw")
    basket = basket_with(products=[create_product(title="Owner cheese", price=Decimal("5.00"), num_in_stock=5)],
                         owner=owner)
    link = mail_link(basket)
    token = link.split("/")[-2]

    assert restore.open_link(anonymous_request(), "not-a-token").outcome == restore.INVALID
    request = anonymous_request()
    result = restore.open_link(request, token)
    assert (result.outcome, result.basket) == (restore.SIGN_IN, None)
    assert request.session[restore.SESSION_KEY] == token
    assert Message.objects.get(step=1).clicked_at is not None
