"""The on-site channel in a real browser: the returning guest sees the banner, follows it to the discounted basket."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from oscar.test.factories import create_product

from journey.core import outbox
from journey.core.models import Message
from journey.recovery import services as recovery
from journey.recovery.models import BasketActivity, RecoveryStep
from journey.test.factories import make_idle

from .conftest import PHONE

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ADD = re.compile(r"Add to (cart|basket)", re.I)


def test_a_returning_guest_sees_the_onsite_reminder_and_follows_it_to_the_discounted_basket(browser, live_server,
                                                                                               shot, settings):
    settings.JOURNEY = {**settings.JOURNEY, "SITE_URL": live_server.url}
    RecoveryStep.objects.all().delete()
    RecoveryStep.objects.create(position=1, delay_minutes=60, channel="onsite", incentive="percentage",
                                incentive_value=Decimal("10"))
    product = create_product(title="Organic Wildflower Honey", price=Decimal("20.00"), num_in_stock=10)

    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(live_server.url + product.get_absolute_url())
    page.get_by_role("button", name=ADD).first.click()
    page.goto(live_server.url + "/checkout/")
    page.fill("input[name=username]", "ana@example.com")
    page.check("input[name=options][value=anonymous]")
    page.locator("form#login_form button[type=submit], form button[type=submit]").first.click()
    page.wait_for_load_state()
    activity = BasketActivity.objects.get()

    now = timezone.now()
    make_idle(activity.basket, 61, now)
    recovery.scan(now)
    outbox.send_due(now=now)
    message = Message.objects.get(channel="onsite")
    assert message.state == Message.State.SENT

    other = browser.new_context(**PHONE)  # another visitor: nothing
    stranger = other.new_page()
    stranger.goto(live_server.url + product.get_absolute_url())
    assert stranger.locator("aside.journey-onsite").count() == 0
    other.close()

    page.goto(live_server.url + product.get_absolute_url())  # the shopper comes back
    banner = page.locator("aside.journey-onsite")
    banner.wait_for()
    assert "Your basket is waiting" in banner.inner_text() and "10 % off your basket" in banner.inner_text()
    shot(page, "onsite-banner")
    banner.get_by_role("link", name="Return to my basket").click()
    page.wait_for_url(re.compile(r".*/basket/$"))
    body = page.inner_text("body")
    assert "$18.00" in body  # 10 % off the $20.00 basket
    assert page.locator("aside.journey-onsite").count() == 0  # followed: not shown again
    shot(page, "restored-basket")
    message.refresh_from_db()
    assert message.opened_at and message.clicked_at
    phone.close()
