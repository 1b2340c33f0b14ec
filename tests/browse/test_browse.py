"""Browse abandonment: a signed-in shopper who looked at products and added nothing gets one reminder after the
delay — through the real storefront (product pages, basket, checkout), the scan and the outbox's send job, with the
clock passed in."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from oscar.test.factories import create_product

from journey.browse import services
from journey.browse.models import BrowseProgram, BrowseReminder
from journey.core import outbox
from journey.core.events import Kind
from journey.core.models import JourneyEvent, Message
from journey.loyalty.profiles.models import CustomerProfile
from journey.recovery import services as recovery
from journey.recovery.models import RecoveryStep
from journey.test.checkout import add_to_basket, signed_in_checkout
from journey.test.factories import make_idle
from tests.race import on_postgresql, run_at_once

pytestmark = pytest.mark.django_db
DELAY = timedelta(minutes=120)


@pytest.fixture
def program():
    program = BrowseProgram.load()
    program.is_active = True
    program.save()
    return program


@pytest.fixture
def shopper_user():
    return get_user_model().objects.create_user(username="ana", email="Ana@Example.com", password="pw",
                                                first_name="Ana")


@pytest.fixture
def signed_in(shopper, shopper_user):
    shopper.force_login(shopper_user)
    return shopper


@pytest.fixture
def products():
    return [create_product(title=title, price=Decimal("12.00"), num_in_stock=5)
            for title in ("Blue Teapot", "Green Mug", "Red Kettle")]


def view(client, product, times=1):
    for _ in range(times):
        response = client.get(product.get_absolute_url())
        assert response.status_code == 200


def later(minutes=121):
    return timezone.now() + timedelta(minutes=minutes)


def scan_and_send(now):
    report = services.scan(now)
    outbox.send_due(now=now)
    return report


def test_views_then_nothing_added_get_one_mail_after_the_delay_with_the_products(program, signed_in, products):
    view(signed_in, products[0], times=2)
    assert services.scan(later(100)).scheduled == 0  # not yet: the delay has not passed
    now = later()
    assert scan_and_send(now).scheduled == 1
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ana@example.com"]
    assert "Blue Teapot" in sent.subject and "Blue Teapot" in sent.body
    assert re.search(rf"/journey/p/[A-Za-z0-9_\-]+/{products[0].pk}/", sent.body)
    message = Message.objects.get(tool="browse")
    assert (message.state, message.channel) == ("sent", "email")
    # None twice: neither the same scan again nor a later one within the program's days.
    assert scan_and_send(now).scheduled == 0
    assert scan_and_send(now + timedelta(days=1)).scheduled == 0
    assert len(mail.outbox) == 1


def test_a_single_view_is_not_enough_but_three_products_of_one_category_are(program, signed_in, products):
    from oscar.apps.catalogue.categories import create_from_breadcrumbs

    category = create_from_breadcrumbs("Kitchen > Tea")
    view(signed_in, products[0])
    assert services.scan(later()).scheduled == 0
    for product in products:
        product.categories.add(category)
    view(signed_in, products[1])
    view(signed_in, products[2])
    report = services.scan(later())
    assert report.scheduled == 1
    assert set(Message.objects.get(tool="browse").context["product_ids"]) == {p.pk for p in products}


def test_adding_to_the_basket_means_no_reminder(program, signed_in, products):
    view(signed_in, products[0], times=2)
    add_to_basket(signed_in, products[1])
    assert services.scan(later()).scheduled == 0


def test_still_browsing_means_no_reminder_yet(program, signed_in, products):
    view(signed_in, products[0], times=2)
    now = later()
    # A view within the delay: the shopper is still looking around.
    JourneyEvent.objects.filter(kind=Kind.PRODUCT_VIEW).order_by("-pk").update(created_at=now - timedelta(minutes=5))
    assert services.scan(now).scheduled == 0


def test_an_order_since_the_views_means_no_reminder(program, signed_in, products):
    view(signed_in, products[0], times=2)
    add_to_basket(signed_in, products[1])
    signed_in_checkout(signed_in)
    JourneyEvent.objects.filter(kind=Kind.BASKET_ADD).delete()  # the order alone must stop it
    assert services.scan(later()).scheduled == 0


def test_an_order_after_scheduling_cancels_the_reminder_at_send_time(program, signed_in, products):
    view(signed_in, products[0], times=2)
    now = later()
    assert services.scan(now).scheduled == 1
    add_to_basket(signed_in, products[0])
    signed_in_checkout(signed_in)
    outbox.send_due(now=now)
    assert not [m for m in mail.outbox if "Still thinking" in m.subject]
    assert Message.objects.get(tool="browse").state == "cancelled"


def test_a_running_recovery_sequence_means_no_reminder(program, signed_in, shopper_user, products):
    RecoveryStep.objects.get_or_create(position=1, defaults={"delay_minutes": 60})
    add_to_basket(signed_in, products[2])
    basket_id = JourneyEvent.objects.get(kind=Kind.BASKET_ADD).basket_id
    from oscar.core.loading import get_model

    make_idle(get_model("basket", "Basket").objects.get(pk=basket_id), 61)
    assert recovery.scan().started == 1
    # Later the shopper looks around again (the basket addition is older than these views).
    JourneyEvent.objects.filter(kind=Kind.BASKET_ADD).update(created_at=timezone.now() - timedelta(hours=3))
    view(signed_in, products[0], times=2)
    assert services.scan(later()).scheduled == 0


def test_no_reminder_without_the_consent_the_policy_requires(program, signed_in, shopper_user, products, settings):
    view(signed_in, products[0], times=2)
    settings.JOURNEY = {**settings.JOURNEY, "CONSENT_POLICY": "consent"}
    assert services.scan(later()).scheduled == 0
    CustomerProfile.objects.create(user=shopper_user, marketing_consent=CustomerProfile.Consent.GRANTED)
    assert services.scan(later()).scheduled == 1


def test_withdrawn_consent_or_a_suppressed_address_means_no_reminder(program, signed_in, shopper_user, products):
    view(signed_in, products[0], times=2)
    profile = CustomerProfile.objects.create(user=shopper_user,
                                             marketing_consent=CustomerProfile.Consent.WITHDRAWN)
    assert services.scan(later()).scheduled == 0
    profile.marketing_consent = CustomerProfile.Consent.UNKNOWN
    profile.save()
    outbox.Suppression.objects.create(email="ana@example.com", reason="unsubscribed")
    assert services.scan(later()).scheduled == 0


def test_anonymous_views_and_a_turned_off_program_send_nothing(program, shopper, products):
    view(shopper, products[0], times=3)  # not signed in: not a known person
    assert services.scan(later()).scheduled == 0
    program.is_active = False
    program.save()
    assert services.scan(later()).scheduled == 0


def test_products_no_longer_available_are_left_out_and_none_left_cancels(program, signed_in, products):
    view(signed_in, products[0], times=2)
    view(signed_in, products[1], times=2)
    now = later()
    services.scan(now)
    products[0].stockrecords.update(num_in_stock=0)
    outbox.send_due(now=now)
    assert "Green Mug" in mail.outbox[0].body and "Blue Teapot" not in mail.outbox[0].body

    mail.outbox.clear()
    other = get_user_model().objects.create_user(username="bo", email="bo@example.com", password="pw")
    signed_in.force_login(other)
    view(signed_in, products[2], times=2)
    services.scan(later())
    products[2].is_public = False
    products[2].save()
    outbox.send_due(now=later())
    assert mail.outbox == []
    assert Message.objects.get(user_id=other.pk).state == "cancelled"


def test_at_most_once_every_n_days_then_again_for_new_views(program, signed_in, products):
    view(signed_in, products[0], times=2)
    first = later()
    assert services.scan(first).scheduled == 1
    # Eight days later the shopper browses again: a new reminder (the program's default is once every 7 days).
    eight_days = timezone.now() + timedelta(days=8)
    JourneyEvent.objects.all().update(created_at=timezone.now() - timedelta(days=30))
    BrowseReminder.objects.update(last_scheduled_at=first - timedelta(days=1))
    view(signed_in, products[1], times=2)
    JourneyEvent.objects.filter(created_at__gt=timezone.now() - timedelta(hours=1)).update(created_at=eight_days)
    assert services.scan(eight_days + DELAY + timedelta(minutes=1)).scheduled == 1
    assert Message.objects.filter(tool="browse").count() == 2


def test_the_link_records_the_click_and_lands_on_the_product_page(program, signed_in, products):
    view(signed_in, products[0], times=2)
    scan_and_send(later())
    path = re.search(r"https?://[^/\s]+(/journey/p/[A-Za-z0-9_\-]+/\d+/)", mail.outbox[0].body).group(1)
    before = JourneyEvent.objects.filter(kind=Kind.PRODUCT_VIEW).count()
    response = signed_in.get(path, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == products[0].get_absolute_url()
    message = Message.objects.get(tool="browse")
    assert message.clicked_at is not None
    assert JourneyEvent.objects.filter(kind=Kind.MAIL_CLICKED, tool="browse", ref=str(message.pk)).count() == 1
    assert JourneyEvent.objects.filter(kind=Kind.PRODUCT_VIEW).count() == before + 1


def test_a_bad_link_still_leads_to_a_public_product_and_a_gone_one_answers_404(shopper, products):
    response = shopper.get(reverse("journey:product-link", args=["nonsense", products[0].pk]))
    assert response.status_code == 302 and response["Location"] == products[0].get_absolute_url()
    response = shopper.get(reverse("journey:product-link", args=["nonsense", 999999]))
    assert response.status_code == 404


def test_on_site_channel_shows_the_reminder_on_the_next_visit(program, signed_in, products):
    program.channel = outbox.channels.ONSITE
    program.save()
    view(signed_in, products[0], times=2)
    scan_and_send(later())
    message = Message.objects.get(tool="browse")
    assert (message.channel, message.address, message.state) == ("onsite", f"user:{message.user_id}", "sent")
    assert mail.outbox == []
    page = signed_in.get("/catalogue/").content.decode()
    assert "Still thinking about it?" in page


def test_numbers_count_sent_clicked_orders_and_revenue(program, signed_in, products):
    from journey.browse.numbers import browse_numbers

    view(signed_in, products[0], times=2)
    scan_and_send(later())
    path = re.search(r"https?://[^/\s]+(/journey/p/[A-Za-z0-9_\-]+/\d+/)", mail.outbox[0].body).group(1)
    signed_in.get(path)
    add_to_basket(signed_in, products[0])
    order = signed_in_checkout(signed_in)
    numbers = browse_numbers(timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1))
    assert (numbers.sent, numbers.clicked, numbers.orders) == (1, 1, 1)
    assert numbers.revenue == order.total_incl_tax


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_schedule_one_reminder_per_person_and_two_price_scans_one_alert():
    from oscar.core.loading import get_model

    from journey.pricedrops import services as drops

    program = BrowseProgram.load()
    program.is_active = True
    program.save()
    users = [get_user_model().objects.create_user(username=f"p{i}", email=f"p{i}@example.com") for i in range(20)]
    product = create_product(title="Blue Teapot", price=Decimal("12.00"), num_in_stock=5)
    for user in users:
        for _ in range(2):
            JourneyEvent.objects.create(kind=Kind.PRODUCT_VIEW, user_id=user.pk, product_id=product.pk)
    WishList = get_model("wishlists", "WishList")
    for user in users:
        WishList.objects.create(owner=user).add(product)
    drops.scan()
    product.stockrecords.update(price=Decimal("9.00"))
    now = later()
    results = run_at_once(4, lambda i: (services.scan(now) if i % 2 else drops.scan(now)))
    assert sum(r.scheduled for r in results[1::2]) == 20
    assert sum(r.scheduled for r in results[0::2]) == 20
    assert Message.objects.filter(tool="browse").count() == 20
    assert Message.objects.filter(tool="price_drop").count() == 20
    assert BrowseReminder.objects.count() == 20


def guest_with_saved_basket(client, product, email="guest@example.com", consent=True):
    """A signed-out shopper who put ``product`` in a basket a day ago and had it mailed to them ("email me my
    basket", consent ticked): journey knows their address from then on."""
    add_to_basket(client, product)
    response = client.post(reverse("journey:email-basket"), {"email": email, "consent": "on" if consent else ""})
    assert response.status_code == 302
    JourneyEvent.objects.filter(kind=Kind.BASKET_ADD).update(created_at=timezone.now() - timedelta(days=1))
    outbox.send_due()  # the saved-basket mail
    mail.outbox.clear()


def test_a_guest_known_by_their_basket_address_gets_one_reminder(program, shopper, products):
    guest_with_saved_basket(shopper, products[2])
    view(shopper, products[0], times=2)
    now = later()
    assert scan_and_send(now).scheduled == 1
    assert [m.to for m in mail.outbox] == [["guest@example.com"]]
    assert "Blue Teapot" in mail.outbox[0].body
    message = Message.objects.get(tool="browse")
    assert message.user_id is None and message.context["email"] == "guest@example.com"
    assert scan_and_send(now + timedelta(hours=1)).scheduled == 0  # once


def test_a_guest_without_the_consent_the_policy_requires_or_who_ordered_gets_nothing(program, shopper, products,
                                                                                   settings):
    from journey.test.checkout import guest_checkout

    settings.JOURNEY = {**settings.JOURNEY, "CONSENT_POLICY": "consent"}
    guest_with_saved_basket(shopper, products[2], consent=False)
    view(shopper, products[0], times=2)
    assert services.scan(later()).scheduled == 0
    settings.JOURNEY = {**settings.JOURNEY, "CONSENT_POLICY": "notice"}
    guest_checkout(shopper, email="guest@example.com")  # an order by that address since the views
    JourneyEvent.objects.filter(kind=Kind.BASKET_ADD).update(created_at=timezone.now() - timedelta(days=1))
    assert services.scan(later()).scheduled == 0


def test_erasing_a_person_removes_their_reminder_rows(program, signed_in, shopper_user, products):
    from journey.core import privacy

    view(signed_in, products[0], times=2)
    services.scan(later())
    assert BrowseReminder.objects.count() == 1
    privacy.erase(email="ana@example.com")
    assert BrowseReminder.objects.count() == 0


def test_under_the_frequency_cap_browse_comes_after_recovery_and_price_drops_before_the_retain_mails():
    from journey.core.outbox.kinds import get_kind, priority_of, registered_kinds

    get_kind("browse.reminder")
    retain = [priority_of(k) for k, kind in registered_kinds().items() if kind.tool in ("post_purchase", "winback",
                                                                                         "birthday")]
    assert retain
    assert priority_of("recovery.step") < priority_of("browse.reminder") < priority_of("price_drop.alert") < min(retain)


@pytest.mark.parametrize("kind", ["browse.reminder", "price_drop.alert"])
def test_browse_reminders_and_price_drop_alerts_are_measured_with_a_holdout(kind):
    from journey.core.experiments import assign
    from tests.core.test_experiments import control_email

    tool = outbox.get_kind(kind).tool
    experiment = assign.set_share(tool, "0.5")
    held, _ = outbox.schedule(kind=kind, subject_key=f"{tool}:holdout-test", step=0,
                              to_email=control_email(experiment), due_at=timezone.now())
    report = outbox.send_claimed(outbox.claim_due(10))
    row = Message.objects.get(pk=held.pk)
    assert report.held == 1 and row.state == Message.State.HELD_OUT and f"control group of {tool}" in row.close_reason
