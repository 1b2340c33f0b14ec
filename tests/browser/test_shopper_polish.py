"""A guest comes back from a recovery mail on a phone, as a first-time visitor of that browser: the consent banner is a
compact bar (at most 30 % of the screen) that covers neither the restored basket nor its checkout button, and Oscar's
guest checkout gateway already holds the address the mail was sent to. Screenshots in test-artifacts/."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from oscar.test.factories import create_product

from journey.core import outbox
from journey.recovery import services as recovery
from journey.recovery.models import BasketActivity
from journey.test.factories import default_sequence, make_idle

from .conftest import PHONE

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
# English says "basket": shop/locale/en_US undoes Oscar's en_US "cart" (docs/install.md).
ADD = re.compile(r"Add to basket")
TITLE = "Store brand Fluid Milk — 64 OZ"
SCREEN = PHONE["viewport"]["width"] * PHONE["viewport"]["height"]


def banner_share(page):
    box = page.locator("#journey-consent").bounding_box()
    return box["width"] * box["height"] / SCREEN


def uncovered(locator, scroll=True):
    """True when the element's centre is the element itself (nothing lies on top of it)."""
    if scroll:
        locator.scroll_into_view_if_needed()
    return locator.evaluate("""el => { const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return r.width > 0 && r.height > 0 && (hit === el || el.contains(hit)); }""")


def in_view(locator):
    return locator.evaluate("""el => { const r = el.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }""")


def mail_link(settings, live_server, browser):
    """A guest leaves a basket after the "email me my basket" card; the first reminder's link."""
    settings.JOURNEY = {**settings.JOURNEY, "SITE_URL": live_server.url}
    default_sequence()
    product = create_product(title=TITLE, price=Decimal("3.50"), num_in_stock=10)
    laptop = browser.new_context()  # has answered the banner (tests/browser/conftest.py)
    page = laptop.new_page()
    page.goto(live_server.url + product.get_absolute_url())
    page.get_by_role("button", name=ADD).first.click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/basket/")
    page.fill("#journey-email-basket-email", "ana@example.com")
    page.get_by_role("button", name="Email me my basket").click()
    page.wait_for_load_state()
    laptop.close()
    activity = BasketActivity.objects.get()
    assert activity.email == "ana@example.com"
    now = timezone.now()
    make_idle(activity.basket, 61, now)
    recovery.scan(now)
    outbox.send_due(now=now + timedelta(seconds=1))
    reminder = [m for m in mail.outbox if "/journey/r/" in m.body][-1]
    assert TITLE in reminder.body and TITLE in reminder.alternatives[0][0]  # the whole name, size included
    return re.search(r"(https?://\S+/journey/r/[\w-]+/)", reminder.body).group(1)


def test_back_from_the_mail_on_a_phone_the_banner_leaves_the_basket_free_and_the_checkout_has_the_email(
        browser, live_server, shot, settings, fresh_visitor):
    link = mail_link(settings, live_server, browser)

    phone = browser.new_context(**PHONE)  # another device, never answered the banner
    page = phone.new_page()
    page.goto(link)
    assert page.url.endswith("/basket/")
    banner = page.get_by_role("dialog", name="Cookies and your privacy")
    assert banner.is_visible()
    shot(page, "restored-basket-with-banner")

    # A compact bar: at most 30 % of the screen, three buttons, nothing ticked, the details folded away.
    share = banner_share(page)
    assert share <= 0.30, f"the banner takes {share:.0%} of the screen"
    for name in ("Reject all", "Accept all"):
        assert banner.get_by_role("button", name=name).is_visible()
    choose = banner.get_by_text("Choose", exact=True)
    assert choose.is_visible() and not page.get_by_label("Analytics").is_visible()

    # It covers nothing: the basket's line (its whole name) and the checkout button are free; the bar sits above the
    # page, not on it.
    line_title = page.locator(".basket-items h3 a").first
    assert line_title.inner_text().strip() == TITLE
    checkout = page.get_by_role("link", name="Proceed to checkout")
    for element in (page.locator(".basket-items").first, page.locator(".basket-items h3").first, checkout):
        assert uncovered(element)
    assert page.evaluate("""() => document.getElementById('journey-consent').getBoundingClientRect().bottom + scrollY
        <= document.querySelector('.basket-items').getBoundingClientRect().top + scrollY""")

    # "Choose" opens the categories, nothing pre-ticked.
    choose.click()
    assert page.get_by_label("Analytics").is_visible() and not page.get_by_label("Analytics").is_checked()
    assert not page.get_by_label("Marketing").is_checked()
    shot(page, "banner-choose-open")
    banner.get_by_role("button", name="Reject all").click()
    page.wait_for_function("document.getElementById('journey-consent').hidden")

    # Oscar's gateway: the address the mail went to is already there.
    page.get_by_role("link", name="Proceed to checkout").click()
    page.wait_for_url(re.compile(r".*/checkout/$"))
    assert page.input_value("input[name=username]") == "ana@example.com"
    shot(page, "gateway-prefilled")
    phone.close()


def test_without_javascript_the_banner_is_a_bottom_bar_of_at_most_30_percent_with_room_underneath(
        browser, live_server, shot, fresh_visitor):
    product = create_product(title=TITLE, price=Decimal("3.50"), num_in_stock=10)
    phone = browser.new_context(**PHONE, java_script_enabled=False)
    page = phone.new_page()
    page.goto(live_server.url + product.get_absolute_url())
    page.locator("#add_to_basket_form button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/basket/")
    assert page.locator("#journey-consent").is_visible()
    share = banner_share(page)
    assert share <= 0.30, f"the banner takes {share:.0%} of the screen"
    # Scrolled to, the checkout button is above the bar; at the very end of the page the footer's last line is too
    # (the page has room underneath the bar).
    checkout = page.get_by_role("link", name="Proceed to checkout")
    checkout.evaluate("el => el.scrollIntoView({block: 'center'})")
    assert uncovered(checkout, scroll=False)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    settings_link = page.get_by_role("link", name="Cookie settings")
    assert in_view(settings_link) and uncovered(settings_link, scroll=False)
    shot(page, "basket-banner-without-javascript")
    # The details open without JavaScript too.
    page.locator("summary", has_text="Choose").click()
    assert page.get_by_label("Analytics").is_visible() and not page.get_by_label("Analytics").is_checked()
    phone.close()
