"""The message log in admin shows each message's channel, and can be filtered by it."""

import pytest
from django.urls import reverse
from django.utils import timezone

from journey.core.models import Message

pytestmark = pytest.mark.django_db


def make(channel, email):
    return Message.objects.create(tool="recovery", kind="recovery", subject_key=f"t:{email}", to_email=email,
                                  channel=channel, address="user:1" if channel == "onsite" else email,
                                  due_at=timezone.now())


def test_the_message_log_filters_by_channel_and_shows_it(admin_client):
    make("onsite", "banner@example.com")
    make("email", "mail@example.com")
    url = reverse("admin:journey_message_changelist")
    html = admin_client.get(url, {"channel__exact": "onsite"}).content.decode()
    assert "banner@example.com" in html and "mail@example.com" not in html
    assert "column-channel" in html


def test_a_message_shows_its_channel_address_and_dismissal(admin_client):
    message = make("onsite", "banner@example.com")
    html = admin_client.get(reverse("admin:journey_message_change", args=[message.pk])).content.decode()
    assert "user:1" in html and "field-dismissed_at" in html
