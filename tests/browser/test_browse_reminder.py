"""Browse abandonment in a real browser: a signed-in shopper looks at a product twice and leaves; the reminder's link,
opened in the browser, lands on the product page, and the click and the new view are recorded."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from oscar.test.factories import create_product

from journey.browse import services
from journey.browse.models import BrowseProgram
from journey.core import outbox
from journey.core.events import Kind
from journey.core.models import JourneyEvent, Message

from .conftest import PHONE

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_reminder_link_lands_on_the_product_with_the_view_recorded(browser, live_server, shot, settings):
    settings.JOURNEY = {**settings.JOURNEY, "SITE_URL": live_server.url}
    program = BrowseProgram.load()
    program.is_active = True
    program.save()
    product = create_product(title="Cast Iron Teapot", price=Decimal("39.00"), num_in_stock=4)
    user = get_user_model().objects.create_user(username="lucia", email="lucia@example.com", password="pw-lucia-1")

    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login-username]", "lucia@example.com")
    page.fill("input[name=login-password]", "pw-lucia-1")
    page.locator("button[name=login_submit]").click()
    page.wait_for_load_state()
    page.goto(live_server.url + product.get_absolute_url())
    page.goto(live_server.url + product.get_absolute_url())
    assert JourneyEvent.objects.filter(kind=Kind.PRODUCT_VIEW, user_id=user.pk).count() == 2

    later = timezone.now() + timedelta(minutes=program.delay_minutes + 1)
    assert services.scan(later).scheduled == 1
    outbox.send_due(now=later)
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/journey/p/[A-Za-z0-9_\-]+/\d+/", mail.outbox[0].body).group(0)

    page.goto(link)
    page.wait_for_url(re.compile(re.escape(product.get_absolute_url()) + r"$"))
    assert "Cast Iron Teapot" in page.locator("h1").first.inner_text()
    shot(page, "product-from-browse-reminder")
    message = Message.objects.get(tool="browse")
    assert message.clicked_at is not None
    assert JourneyEvent.objects.filter(kind=Kind.MAIL_CLICKED, tool="browse", user_id=user.pk).count() == 1
    assert JourneyEvent.objects.filter(kind=Kind.PRODUCT_VIEW, user_id=user.pk).count() == 3
    context.close()
