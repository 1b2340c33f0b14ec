"""The browse reminder in Django admin: one settings page (with its numbers), the preview and a test mail."""

from decimal import Decimal

import pytest
from django.urls import reverse
from oscar.test.factories import create_product

from journey.browse.models import BrowseProgram
from journey.core.events import Kind
from journey.core.models import JourneyEvent, Message

pytestmark = pytest.mark.django_db


def test_the_list_opens_the_one_settings_page_and_saving_turns_it_on(admin_client):
    response = admin_client.get(reverse("admin:journey_browseprogram_changelist"))
    assert response.status_code == 302
    page = admin_client.get(response["Location"])
    assert page.status_code == 200 and "Reminders sent" in page.content.decode()
    data = {"is_active": "on", "delay_minutes": 90, "min_product_views": 3, "min_category_products": 4,
            "once_every_days": 10, "channel": "onsite", "template": "journey/browse/mail"}
    response = admin_client.post(response["Location"], data)
    assert response.status_code == 302
    program = BrowseProgram.load()
    assert (program.is_active, program.delay_minutes, program.channel) == (True, 90, "onsite")


def test_a_missing_template_or_an_absurd_number_is_a_form_error(admin_client):
    url = reverse("admin:journey_browseprogram_change", args=[BrowseProgram.load().pk])
    data = {"delay_minutes": 120, "min_product_views": 2, "min_category_products": 3, "once_every_days": 7,
            "channel": "email", "template": "journey/browse/nope"}
    response = admin_client.post(url, data)
    assert response.status_code == 200 and "Template not found" in response.content.decode()
    response = admin_client.post(url, {**data, "template": "journey/browse/mail", "delay_minutes": 10**12})
    assert response.status_code == 200 and response.context["adminform"].form.errors


def test_the_preview_shows_what_the_owner_last_looked_at_and_the_test_mail_goes_to_them(admin_client, admin_user,
                                                                                        mailoutbox):
    create_product(title="Newest Kettle", price=Decimal("30.00"), num_in_stock=3)
    teapot = create_product(title="Viewed Teapot", price=Decimal("25.00"), num_in_stock=3)
    JourneyEvent.objects.create(kind=Kind.PRODUCT_VIEW, user_id=admin_user.pk, product_id=teapot.pk)
    response = admin_client.get(reverse("admin:journey_browseprogram_preview"))
    assert response.status_code == 200
    assert response.context["error"] == ""
    assert "Viewed Teapot" in response.context["mail"].text and "Newest Kettle" not in response.context["mail"].text
    response = admin_client.post(reverse("admin:journey_browseprogram_preview"), follow=True)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject.startswith("[TEST] ") and mailoutbox[0].to == [admin_user.email]
    assert Message.objects.count() == 0
    assert f"sent to {admin_user.email}" in response.content.decode()


def test_the_preview_without_any_product_says_so(admin_client):
    response = admin_client.get(reverse("admin:journey_browseprogram_preview"))
    assert response.status_code == 200 and "no public, available product" in response.content.decode()


def test_the_tools_are_on_the_journey_map_with_their_phases_and_jobs():
    from journey.celery import beat_schedule
    from journey.core.registry import registry

    browse, drops = registry.get("browse"), registry.get("price_drop")
    assert [str(p) for p in browse.phases] == ["convince"]
    assert sorted(str(p) for p in drops.phases) == ["retain", "sell"]
    assert browse.health().status == "idle"  # turned off until the owner switches it on
    tasks = {entry["task"] for entry in beat_schedule().values()}
    assert {"journey.scan_browse_abandonment", "journey.scan_price_drops"} <= tasks
