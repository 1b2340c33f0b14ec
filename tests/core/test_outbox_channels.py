"""Issue 14, part 3: the outbox is channel-agnostic; a recovery step can remind the shopper on the storefront."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.signing import Signer
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from journey.core import events, onsite, outbox, suppression
from journey.core.models import JourneyEvent, Message, Suppression
from journey.core.outbox import channels
from journey.exceptions import UnknownChannel
from journey.recovery import services
from journey.recovery.models import BasketActivity, RecoveryStep
from journey.recovery.numbers import recovery_numbers
from journey.test.factories import basket_with, make_idle
from tests.conftest import BROWSER_USER_AGENT

pytestmark = [pytest.mark.django_db]
State = Message.State
PAGE = "/catalogue/"  # a storefront page ("/" redirects here)


def onsite_sequence(incentive_value=Decimal("10")):
    """One active step: an on-site reminder after an hour, with 10 % off."""
    RecoveryStep.objects.all().delete()
    return RecoveryStep.objects.create(position=1, delay_minutes=60, channel=channels.ONSITE,
                                       incentive=RecoveryStep.Incentive.PERCENTAGE, incentive_value=incentive_value)


def browser(**cookies):
    client = Client(HTTP_USER_AGENT=BROWSER_USER_AGENT)
    for name, value in cookies.items():
        client.cookies[name] = value
    return client


def abandon_and_send(basket):
    now = timezone.now()
    make_idle(basket, 61, now)
    services.scan(now)
    outbox.send_due(now=now)
    return Message.objects.get(subject_key__startswith=f"recovery:basket:{basket.pk}:")


@pytest.fixture
def shopper(django_user_model):
    user = django_user_model.objects.create_user(username="ana", email="ana@example.com", password="pw")
    basket = basket_with(owner=user)
    services.capture_email(basket, user.email, BasketActivity.Source.ACCOUNT)
    return user, basket


def signed_in(user):
    client = browser()
    client.force_login(user)
    return client


def banner(response):
    html = response.content.decode()
    match = re.search(r'<aside class="journey-onsite".*?</aside>', html, re.S)
    return match.group(0) if match else None


def test_an_onsite_step_is_sent_through_the_outbox_and_shows_on_the_shoppers_next_page_only(shopper,
                                                                                                django_user_model):
    user, basket = shopper
    onsite_sequence()
    message = abandon_and_send(basket)
    assert mail.outbox == []  # no mail: the channel is the storefront
    assert (message.channel, message.address, message.to_email) == ("onsite", f"user:{user.pk}", "ana@example.com")
    assert message.state == State.SENT and message.sent_at is not None and message.esp_name == "journey-onsite"
    code = message.context["voucher_id"] and Message.objects.get(pk=message.pk).body_html
    assert "10 % off your basket" in message.body_html and "<code>" in code
    assert "/journey/r/" not in message.body_html  # no live restore token kept in the row

    other = django_user_model.objects.create_user(username="gil", email="gil@example.com", password="pw")
    assert banner(signed_in(other).get(PAGE)) is None  # another shopper
    assert banner(browser().get(PAGE)) is None  # an anonymous visitor
    shown = banner(signed_in(user).get(PAGE))
    assert shown is not None and "Your basket is waiting" in shown and "10 % off your basket" in shown
    message.refresh_from_db()
    assert message.opened_at is not None  # shown = opened, as a mail's open
    assert JourneyEvent.objects.filter(kind=events.Kind.MESSAGE_SHOWN, ref=str(message.pk)).count() == 1


def test_a_guest_basket_is_reminded_in_the_browser_that_holds_it(client):
    basket = basket_with()
    services.capture_email(basket, "guest@example.com", BasketActivity.Source.CHECKOUT)
    onsite_sequence()
    message = abandon_and_send(basket)
    assert message.address == f"basket:{basket.pk}"
    holder = browser(oscar_open_basket=Signer().sign(basket.pk))
    assert banner(holder.get(PAGE)) is not None
    stranger = browser(oscar_open_basket=Signer().sign(basket.pk + 1000))
    assert banner(stranger.get(PAGE)) is None
    forged = browser(oscar_open_basket=f"{basket.pk}:forged")
    assert banner(forged.get(PAGE)) is None


def test_bots_never_mark_the_message_seen(shopper):
    user, basket = shopper
    onsite_sequence()
    message = abandon_and_send(basket)
    bot = Client(HTTP_USER_AGENT="Googlebot/2.1 (+http://www.google.com/bot.html)")
    bot.force_login(user)
    bot.get(PAGE)
    message.refresh_from_db()
    assert message.opened_at is None
    assert not JourneyEvent.objects.filter(kind=events.Kind.MESSAGE_SHOWN).exists()


def test_the_button_counts_a_click_and_leads_to_the_restore_link(shopper):
    user, basket = shopper
    onsite_sequence()
    message = abandon_and_send(basket)
    client = signed_in(user)
    client.get(PAGE)
    response = client.get(f"/journey/m/{message.pk}/go/")
    assert response.status_code == 302 and "/journey/r/" in response["Location"]
    message.refresh_from_db()
    assert message.clicked_at is not None and message.dismissed_at is not None  # clicked: not shown again
    assert JourneyEvent.objects.filter(kind=events.Kind.MESSAGE_CLICKED, ref=str(message.pk)).count() == 1
    assert banner(client.get(PAGE)) is None
    # Someone else's click is a 404 and counts nothing.
    assert browser().get(f"/journey/m/{message.pk}/go/").status_code == 404
    # The restore link applies the step's voucher, like a mail's link.
    restored = client.get(response["Location"], follow=True)
    assert restored.status_code == 200


def test_the_recovery_numbers_count_shown_and_clicked_like_a_mails_open_and_click(shopper):
    user, basket = shopper
    onsite_sequence()
    message = abandon_and_send(basket)
    client = signed_in(user)
    client.get(PAGE)
    client.get(f"/journey/m/{message.pk}/go/")
    now = timezone.now()
    numbers = recovery_numbers(now - timezone.timedelta(days=1), now + timezone.timedelta(days=1))
    assert numbers.sent == 1 and numbers.clicked == 1
    assert Message.objects.filter(pk=message.pk, opened_at__isnull=False, clicked_at__isnull=False).exists()


def test_close_hides_it_and_dont_show_again_suppresses_the_onsite_channel_only(shopper):
    user, basket = shopper
    onsite_sequence()
    message = abandon_and_send(basket)
    client = signed_in(user)
    assert banner(client.get(PAGE)) is not None
    response = client.post(f"/journey/m/{message.pk}/dismiss/", {"next": "/basket/", "forever": "1"})
    assert response.status_code == 302 and response["Location"] == "/basket/"
    assert banner(client.get(PAGE)) is None
    message.refresh_from_db()
    assert message.dismissed_at is not None
    assert JourneyEvent.objects.filter(kind=events.Kind.MESSAGE_DISMISSED).count() == 1
    entry = Suppression.objects.get()
    assert (entry.email, entry.channel, entry.reason) == ("ana@example.com", "onsite", Suppression.Reason.DISMISSED)
    assert suppression.is_suppressed("ana@example.com", "onsite")
    assert not suppression.is_suppressed("ana@example.com")  # mails still go out
    # The next on-site reminder to this person is suppressed at send time; an email one is not.
    later = outbox.schedule(kind=services.MAIL_KIND, subject_key="recovery:test:onsite", step=1,
                            to_email="ana@example.com", due_at=timezone.now(), channel="onsite",
                            address=f"user:{user.pk}", context={})[0]
    assert later.state == State.CANCELLED or outbox.send_now(later.pk).suppressed == 1


def test_a_plain_close_does_not_suppress(shopper):
    user, basket = shopper
    onsite_sequence()
    message = abandon_and_send(basket)
    client = signed_in(user)
    client.post(f"/journey/m/{message.pk}/dismiss/", {"next": "https://evil.example/"})
    assert not Suppression.objects.exists()
    assert banner(client.get(PAGE)) is None


def test_a_bounce_suppresses_email_only_and_an_unsubscribe_every_channel():
    suppression.suppress("b@example.com", Suppression.Reason.HARD_BOUNCE)
    assert suppression.is_suppressed("b@example.com") and not suppression.is_suppressed("b@example.com", "onsite")
    suppression.suppress("u@example.com", Suppression.Reason.UNSUBSCRIBED)
    assert suppression.is_suppressed("u@example.com") and suppression.is_suppressed("u@example.com", "onsite")
    # An unsubscribe after a bounce widens it to every channel; a bounce after an unsubscribe adds nothing.
    suppression.suppress("b@example.com", Suppression.Reason.UNSUBSCRIBED)
    assert suppression.is_suppressed("b@example.com", "onsite")
    suppression.suppress("u@example.com", Suppression.Reason.HARD_BOUNCE)
    assert Suppression.objects.filter(email="u@example.com").count() == 1


def test_an_unsubscribe_takes_down_a_live_onsite_message(shopper):
    user, basket = shopper
    onsite_sequence()
    message = abandon_and_send(basket)
    suppression.suppress("ana@example.com", Suppression.Reason.UNSUBSCRIBED)
    assert banner(signed_in(user).get(PAGE)) is None
    message.refresh_from_db()
    assert message.dismissed_at is not None


def test_an_unknown_channel_is_a_configuration_error():
    step = RecoveryStep(position=9, delay_minutes=60, channel="sms")
    with pytest.raises(ValidationError) as error:
        step.full_clean()
    assert "channel" in error.value.message_dict
    with pytest.raises(UnknownChannel):
        step.save()
    with pytest.raises(UnknownChannel):
        outbox.schedule(kind=services.MAIL_KIND, subject_key="x", step=1, to_email="a@example.com",
                        due_at=timezone.now(), channel="sms")
    assert issubclass(UnknownChannel, Exception) and not Message.objects.exists()


def test_the_email_path_is_unchanged_for_an_email_step(shopper):
    user, basket = shopper
    RecoveryStep.objects.all().delete()
    RecoveryStep.objects.create(position=1, delay_minutes=60)
    message = abandon_and_send(basket)
    assert (message.channel, message.address, message.state) == ("email", "ana@example.com", State.SENT)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ana@example.com"]
    assert "List-Unsubscribe" in mail.outbox[0].extra_headers
    assert banner(signed_in(user).get(PAGE)) is None


def test_a_page_costs_no_query_while_no_onsite_message_is_live_and_one_when_one_is(shopper):
    user, basket = shopper
    client = signed_in(user)
    client.get(PAGE)  # warm up
    request_factory_request = type("R", (), {})()
    request_factory_request.user = user
    request_factory_request.COOKIES = {}
    onsite.message_for(request_factory_request)  # fills the process memo
    with CaptureQueriesContext(connection) as none_live:
        assert onsite.message_for(request_factory_request) is None
    assert len(none_live) == 0
    onsite_sequence()
    abandon_and_send(basket)
    with CaptureQueriesContext(connection) as one_live:
        assert onsite.message_for(request_factory_request) is not None
    assert len(one_live) == 1
    anonymous = type("R", (), {"COOKIES": {}, "user": None})()
    with CaptureQueriesContext(connection) as nobody:
        assert onsite.message_for(anonymous) is None
    assert len(nobody) == 0


# Part 4: the admin preview and the test mail render through the outbox's channel backend --------------------------
def test_the_owner_chooses_a_steps_channel_in_the_admin(admin_client):
    data = {"position": "9", "delay_hours": "12", "is_active": "on", "channel": "onsite", "incentive": "",
            "incentive_value": "", "incentive_valid_days": "7", "incentive_min_basket": "0.00",
            "template": "journey/mail/recovery"}
    response = admin_client.post(reverse("admin:journey_recoverystep_add"), data)
    assert response.status_code == 302
    assert RecoveryStep.objects.get(position=9).channel == "onsite"
    response = admin_client.post(reverse("admin:journey_recoverystep_add"), {**data, "position": "10",
                                                                             "channel": "sms"})
    assert response.status_code == 200 and not RecoveryStep.objects.filter(position=10).exists()


def test_the_preview_of_an_onsite_step_is_the_banner_the_outbox_would_show(admin_client, shopper):
    step = onsite_sequence()
    response = admin_client.get(reverse("admin:journey_recoverystep_preview", args=[step.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Your basket is waiting" in content and "SAMPLE-CODE" in content
    assert not Message.objects.exists() and not JourneyEvent.objects.filter(kind__startswith="message_").exists()


def test_the_recovery_admin_has_no_rendering_path_of_its_own():
    import inspect

    from journey.recovery import admin as recovery_admin

    source = inspect.getsource(recovery_admin)
    assert "render_to_string" not in source and "EmailMultiAlternatives" not in source
    assert "outbox.render(" in source


def test_a_test_mail_of_an_onsite_step_is_still_a_mail(admin_client, admin_user, shopper):
    step = onsite_sequence()
    admin_client.post(reverse("admin:journey_recoverystep_changelist"),
                      {"action": "send_test_mail_to_me", "_selected_action": [step.pk]}, follow=True)
    assert len(mail.outbox) == 1 and mail.outbox[0].subject.startswith("[TEST] ")
    assert mail.outbox[0].tags == ["journey", "recovery", "test"] and not Message.objects.exists()


def test_erasing_a_guest_erases_their_onsite_message_and_its_events():
    from journey.core import privacy

    basket = basket_with()
    services.capture_email(basket, "guest@example.com", BasketActivity.Source.CHECKOUT)
    onsite_sequence()
    message = abandon_and_send(basket)
    holder = browser(oscar_open_basket=Signer().sign(basket.pk))
    holder.get(PAGE)
    holder.post(f"/journey/m/{message.pk}/dismiss/", {"forever": "1"})
    assert JourneyEvent.objects.filter(ref=str(message.pk), kind__startswith="message_").count() == 2
    privacy.erase(email="guest@example.com")
    assert not JourneyEvent.objects.filter(ref=str(message.pk), kind__startswith="message_").exists()
    assert not Message.objects.filter(pk=message.pk).exists()
