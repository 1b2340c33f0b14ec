"""Shopper and store-owner journeys in a real browser (headless Chromium), with screenshots."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from oscar.test.factories import create_order, create_product

from journey.core import outbox
from journey.core.events import Kind
from journey.core.models import JourneyEvent
from journey.recovery import services as recovery
from journey.recovery.models import BasketActivity, RecoveryStep
from journey.related import services as related
from journey.related.models import ListKind, RelatedClick
from journey.test.factories import basket_with, default_sequence, make_idle

from .conftest import PHONE

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ADD = re.compile(r"Add to (cart|basket)", re.I)


def test_a_guest_gets_the_basket_back_on_another_device_with_the_discount(browser, live_server, shot, settings):
    settings.JOURNEY = {**settings.JOURNEY, "SITE_URL": live_server.url}
    default_sequence()
    RecoveryStep.objects.filter(position=1).update(incentive="percentage", incentive_value=Decimal("10"))
    product = create_product(title="Organic Wildflower Honey", price=Decimal("20.00"), num_in_stock=10)

    laptop = browser.new_context()
    page = laptop.new_page()
    page.goto(live_server.url + product.get_absolute_url())
    page.get_by_role("button", name=ADD).first.click()
    page.goto(live_server.url + "/checkout/")
    page.fill("input[name=username]", "ana@example.com")
    page.check("input[name=options][value=anonymous]")
    page.locator("form#login_form button[type=submit], form button[type=submit]").first.click()
    page.wait_for_load_state()
    laptop.close()  # the shopper leaves
    activity = BasketActivity.objects.get()
    assert (activity.email, activity.email_source) == ("ana@example.com", "checkout")

    now = timezone.now()
    make_idle(activity.basket, 61, now)
    recovery.scan(now)
    outbox.send_due(now=now)
    message = mail.outbox[0]
    link = re.search(r"(https?://\S+/journey/r/[\w-]+/)", message.body).group(1)

    mail_view = browser.new_page()
    mail_view.set_content(message.alternatives[0][0])
    assert "Organic Wildflower Honey" in mail_view.inner_text("body")
    shot(mail_view, "recovery-mail")
    mail_view.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844})  # another device: no cookie, no session
    page = phone.new_page()
    page.goto(link)
    assert "/journey/r/" not in page.url and page.url.endswith("/basket/")
    body = page.inner_text("body")
    assert "Organic Wildflower Honey" in body
    assert "Welcome back! Your basket is as you left it, with your discount" in body
    assert "$18.00" in body  # 10 % off the $20.00 basket
    shot(page, "restored-basket")
    phone.close()


def test_related_products_show_and_a_click_is_recorded(browser, live_server, shot):
    cheese, crackers = (create_product(title=t, price=Decimal("3.00"), num_in_stock=10)
                        for t in ("Aged Cheddar", "Rye Crackers"))
    for _ in range(3):
        order = create_order(basket=basket_with([cheese, crackers]))
        order.date_placed = timezone.now() - timedelta(days=1)
        order.save()
    related.rebuild()

    context = browser.new_context()
    page = context.new_page()
    page.goto(live_server.url + cheese.get_absolute_url())
    section = page.locator("[data-journey-list='1']")
    assert "Customers who bought this also bought" in section.inner_text()
    shot(page, "product-page")
    section.get_by_role("button", name=ADD).first.click()  # add the cross-sold product from the list
    page.goto(live_server.url + "/basket/")
    shot(page, "basket-page")
    page.goto(live_server.url + cheese.get_absolute_url())
    page.locator("[data-journey-list='1'] h3 a").first.click()
    page.wait_for_url(re.compile(r".*/catalogue/rye-crackers.*"))
    for _ in range(50):
        if RelatedClick.objects.exists():
            break
        page.wait_for_timeout(100)
    click = RelatedClick.objects.get()
    assert (click.kind, click.position, click.product_id, click.anchor_id) == (1, 1, crackers.pk, cheese.pk)
    context.close()


def test_the_basket_shows_the_cross_sell_and_a_click_is_recorded_with_its_list_and_position(browser, live_server,
                                                                                          shot):
    cheese, crackers, jam = (create_product(title=t, price=Decimal(p), num_in_stock=10)
                             for t, p in (("Aged Cheddar", "6.00"), ("Rye Crackers", "3.00"), ("Fig Jam", "4.00")))
    for count, products in ((4, [cheese, crackers]), (2, [cheese, jam])):  # crackers first, then jam
        for _ in range(count):
            order = create_order(basket=basket_with(products))
            order.date_placed = timezone.now() - timedelta(days=1)
            order.save()
    related.rebuild()

    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(live_server.url + cheese.get_absolute_url())
    page.get_by_role("button", name=ADD).first.click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/basket/")
    cross_sell = page.locator("[data-journey-list='2']")
    assert cross_sell.locator("h2").inner_text() == "Complete your basket"
    items = cross_sell.locator("[data-journey-product]")
    assert [int(pk) for pk in items.evaluate_all("els => els.map(e => e.dataset.journeyProduct)")] == [
        crackers.pk, jam.pk]  # ranked by how often they were bought with the cheese; the cheese itself is not offered
    assert "Aged Cheddar" not in cross_sell.inner_text()
    cross_sell.scroll_into_view_if_needed()
    shot(page, "basket-cross-sell")

    items.nth(1).locator("h3 a").click()  # the second product of the list: Fig Jam
    page.wait_for_url(re.compile(r".*/catalogue/fig-jam.*"))
    for _ in range(50):
        if RelatedClick.objects.exists() and JourneyEvent.objects.filter(kind=Kind.RELATED_CLICK).exists():
            break
        page.wait_for_timeout(100)
    click = RelatedClick.objects.get()
    assert (click.kind, click.position, click.product_id, click.anchor_id) == (ListKind.CROSS_SELL, 2, jam.pk, None)
    event = JourneyEvent.objects.get(kind=Kind.RELATED_CLICK)
    assert (event.tool, event.phase, event.product_id, event.device) == ("related", "sell", jam.pk, "mobile")
    assert (event.data["list"], event.data["position"]) == ("cross_sell", 2)
    shot(page, "clicked-product")
    phone.close()


def test_a_spanish_speaking_owner_sees_the_journey_map_in_spanish(browser, live_server, shot, sign_in_owner):
    context = browser.new_context(locale="es-ES", extra_http_headers={"Accept-Language": "es"})
    page = context.new_page()
    sign_in_owner(page, "/admin/journey/journeymap/")
    phases = page.locator("[data-phase] h2").all_inner_texts()
    assert [p.split()[0] for p in phases] == ["Atraer", "Convencer", "Vender", "Fidelizar"]
    assert "Recuperación de carritos abandonados" in page.inner_text("body")
    shot(page, "journey-map-es")
    context.close()


def test_unsubscribing_from_a_mail_stops_the_next_one(browser, live_server, shot, settings):
    settings.JOURNEY = {**settings.JOURNEY, "SITE_URL": live_server.url}
    default_sequence()
    basket = basket_with([create_product(title="Green Tea", price=Decimal("4.00"), num_in_stock=10)])
    recovery.capture_email(basket, "leo@example.com", BasketActivity.Source.CHECKOUT)
    now = timezone.now()
    anchor = make_idle(basket, 61, now)
    recovery.scan(now)
    outbox.send_due(now=now)
    link = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")

    context = browser.new_context()
    page = context.new_page()
    page.goto(link)  # a person clicking the link: a confirmation page, nothing changes yet
    assert "leo@example.com" in page.inner_text("body")
    shot(page, "confirm")
    page.get_by_role("button", name="Unsubscribe").click()
    page.wait_for_load_state()
    assert "leo@example.com" in page.inner_text("body")
    shot(page, "done")
    context.close()

    outbox.send_due(now=anchor + timedelta(hours=25))
    assert len(mail.outbox) == 1  # the second reminder was not sent
