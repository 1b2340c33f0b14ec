"""Privacy operations: journey_erase removes everything journey holds on a person (and nothing of anyone else);
the retention job deletes only old rows, in batches, and is safe to run twice."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from anymail.signals import AnymailTrackingEvent
from django.apps import apps
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_class, get_model
from oscar.test.factories import UserFactory, create_order, create_product

from journey.core import jobs, outbox, privacy, suppression
from journey.core.consent_models import ConsentRecord
from journey.core.models import JourneyEvent, LinkToken, Message, Suppression, TrackingEvent
from journey.core.tracking import apply_event
from journey.core.vouchers import issue_personal_voucher
from journey.insights.ga4_models import GA4Delivery
from journey.loyalty.birthdays import services as birthdays
from journey.loyalty.birthdays.models import BirthdayProgram, BirthdayReward
from journey.loyalty.followups import services as followups
from journey.loyalty.followups.models import PostPurchaseProgram
from journey.loyalty.profiles.models import CustomerProfile
from journey.promotions.campaigns.lifecycle import create_campaign
from journey.promotions.campaigns.models import Campaign, CampaignTouch
from journey.promotions.quantity import offers as quantity_offers
from journey.promotions.quantity.models import QuantityPromotion, QuantityTier
from journey.recovery import services as recovery
from journey.recovery.models import BasketActivity
from journey.test.factories import basket_with, default_sequence, make_idle
from tests.conftest import DESKTOP_USER_AGENT

pytestmark = pytest.mark.django_db
Applicator = get_class("offer.applicator", "Applicator")
OrderDiscount = get_model("order", "OrderDiscount")
Range = get_model("offer", "Range")


def shop_tools(product):
    """A campaign link, a quantity deal on ``product``, and the three Retain programs switched on (once)."""
    campaign = Campaign.objects.filter(slug="spring").first() or create_campaign(
        name="Spring", slug="spring", value=10, channel="facebook")
    deal = QuantityPromotion.objects.first()
    if deal is None:
        deal_range = Range.objects.create(name="Cheeses")
        deal_range.add_product(product)
        deal = QuantityPromotion.objects.create(name="2 cheeses", product_range=deal_range, is_draft=False,
                                                         starts_at=timezone.now() - timedelta(hours=1))
        QuantityTier.objects.create(promotion=deal, min_quantity=2, percentage=Decimal("10"))
        quantity_offers.sync_offers(deal)
    for program in (BirthdayProgram.load(), PostPurchaseProgram.load()):
        program.is_active = True
        program.save()
    return campaign, deal


def person(client, email, product):
    """A customer with something in every table journey owns."""
    campaign, deal = shop_tools(product)
    user = UserFactory(email=email)
    CustomerProfile.objects.create(user=user, birth_month=5, birth_day=4, marketing_consent="granted")
    client.defaults["HTTP_USER_AGENT"] = DESKTOP_USER_AGENT
    client.force_login(user)
    client.post(reverse("journey:consent"), {"action": "accept"})  # consent record + visitor cookie
    client.get(campaign.get_absolute_url() + "?utm_source=facebook")  # landing event + campaign touch
    client.get(product.get_absolute_url())  # events with her visitor id and user
    client.post(reverse("journey:related-click"), {"kind": 1, "product": product.pk, "position": 1})
    default_sequence()
    basket = basket_with([product], owner=user)
    recovery.capture_email(basket, email, BasketActivity.Source.ACCOUNT)
    now = timezone.now()
    make_idle(basket, 61, now)
    recovery.scan(now)
    outbox.send_due(now=now)
    message = Message.objects.filter(to_email=email, state="sent").get()
    apply_event(AnymailTrackingEvent(event_type="opened", message_id=message.esp_message_id or "x",
                                     event_id=f"o-{email}", recipient=email, timestamp=now,
                                     metadata={"journey_message_id": message.pk}), "test")
    issue_personal_voucher(purpose="birthday", key=f"birthday:{email}", user=user, email=email,
                           kind="percentage", value=Decimal("10"), valid_days=30)
    birthdays.handle_day(BirthdayProgram.load(), date(now.year, 5, 4), now=now)  # reward row, voucher, mail
    two = basket_with([product], owner=user, quantity=2)
    Applicator().apply(two, user)
    order = create_order(user=user, basket=two)
    assert OrderDiscount.objects.filter(order=order, offer_id__in=deal.offer_ids).exists()  # the quantity deal
    assert followups.schedule_post_purchase(order)  # the thank-you mail
    JourneyEvent.objects.create(kind="order_placed", order_id=order.pk, visitor_id="", phase="sell")
    GA4Delivery.objects.create(order_id=order.pk, kind="purchase", client_id="123.456", state="sent")
    suppression.suppress(email, Suppression.Reason.UNSUBSCRIBED, message=message, note="unsubscribe link")
    client.logout()
    return user


def traces(user, email, visitor_ids):
    """Rows of journey's tables that still mention the person (by email, user, visitor id), per model."""
    found = {}
    for model in apps.get_app_config("journey").get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        for row in model.objects.all():
            data = model_to_dict(row)
            text = repr(data).lower()
            user_fields = [f.attname for f in model._meta.concrete_fields if f.name in ("user", "user_id")]
            if email in text or any(v in text for v in visitor_ids) or \
                    any(getattr(row, f) == user.pk for f in user_fields):
                found.setdefault(model.__name__, []).append(data)
    return found


def test_erase_leaves_nothing_on_the_person_in_any_journey_table_and_keeps_others(client):
    from django.test import Client

    product = create_product(title="Aged Cheddar", price=Decimal("4.50"), num_in_stock=50)
    ana = person(client, "ana@example.com", product)
    bob = person(Client(), "bob@example.com", product)
    visitors = set(JourneyEvent.objects.filter(user_id=ana.pk).exclude(visitor_id="")
                   .values_list("visitor_id", flat=True))
    assert visitors and set(traces(ana, "ana@example.com", visitors)) >= {
        "JourneyEvent", "Message", "TrackingEvent", "LinkToken", "BasketActivity", "PersonalVoucher",
        "RelatedClick", "ConsentRecord", "CustomerProfile", "Suppression", "CampaignTouch", "BirthdayReward"}
    assert set(Message.objects.filter(user=ana).values_list("tool", flat=True)) == {
        "recovery", "birthday", "post_purchase"}
    before_bob = traces(bob, "bob@example.com", set())

    out = StringIO()
    call_command("journey_erase", "--email", "ANA@example.com", stdout=out)
    report = out.getvalue()
    assert "events" in report and "consent records" in report and "kept" in report
    assert "campaign touches" in report and "birthday rewards" in report and "customer profile" in report

    left = traces(ana, "ana@example.com", visitors)
    assert set(left) == {"Suppression"}  # kept so she is never mailed again (documented)
    assert left["Suppression"][0]["note"] == "" and left["Suppression"][0]["message"] is None
    assert not GA4Delivery.objects.filter(order_id__in=ana.orders.values("pk")).exists()
    assert traces(bob, "bob@example.com", set()).keys() == before_bob.keys()
    assert GA4Delivery.objects.count() == 1
    # What is nobody's personal data stays: the campaign, the quantity deal, the programs' settings.
    assert Campaign.objects.count() == 1 and QuantityTier.objects.count() == 1
    assert CampaignTouch.objects.get().user == bob and BirthdayReward.objects.get().user == bob


def test_a_dry_run_counts_and_changes_nothing(client):
    product = create_product(price=Decimal("1.00"), num_in_stock=10)
    ana = person(client, "ana@example.com", product)
    rows = {m: m.objects.count() for m in (JourneyEvent, Message, ConsentRecord, CustomerProfile, LinkToken,
                                            CampaignTouch, BirthdayReward)}
    out = StringIO()
    call_command("journey_erase", "--user-id", str(ana.pk), "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() and "would erase" in out.getvalue()
    assert {m: m.objects.count() for m in rows} == rows
    counts = privacy.erase(user_id=ana.pk, dry_run=True)
    assert counts["events"] == JourneyEvent.objects.count() and counts["customer profile"] == 1
    assert counts["messages"] == Message.objects.count() >= 1 and counts["consent records"] == 1
    assert counts["campaign touches"] == 1 and counts["birthday rewards"] == 1


def test_an_unknown_email_says_so_and_exits_cleanly_with_zero_counts():
    out = StringIO()
    call_command("journey_erase", "--email", "nobody@example.com", stdout=out)
    assert "journey holds nothing on nobody@example.com" in out.getvalue()
    assert set(privacy.erase(email="nobody@example.com").values()) == {0}


def test_bad_arguments_are_clear_errors():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Give --email or --user-id"):
        call_command("journey_erase")
    with pytest.raises(CommandError, match="not an e-mail address"):
        call_command("journey_erase", "--email", "not-an-address")


def test_other_tools_plug_in_their_own_eraser(client):
    seen = []

    def erase_touches(subject, *, dry_run):
        seen.append((sorted(subject.emails), dry_run))
        return 2

    privacy.register_eraser("landing touches", erase_touches)
    try:
        UserFactory(email="ana@example.com")
        assert privacy.erase(email="ana@example.com")["landing touches"] == 2
        assert seen == [(["ana@example.com"], False)]
        with pytest.raises(ValueError, match="already registered"):
            privacy.register_eraser("landing touches", lambda subject, *, dry_run: 0)
    finally:
        privacy._erasers.pop("landing touches")


def test_a_guest_is_found_by_the_email_of_her_orders_and_mails():
    order = create_order(guest_email="gina@example.com")
    JourneyEvent.objects.create(kind="order_placed", order_id=order.pk, visitor_id="dguest", phase="sell")
    JourneyEvent.objects.create(kind="product_view", visitor_id="dguest", phase="convince")
    JourneyEvent.objects.create(kind="product_view", visitor_id="dother", phase="convince")
    counts = privacy.erase(email="gina@example.com")
    assert counts["events"] == 2
    assert list(JourneyEvent.objects.values_list("visitor_id", flat=True)) == ["dother"]


# Retention ------------------------------------------------------------------------------------------------
def _aged(model, days, **fields):
    row = model.objects.create(**fields)
    model.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=days))
    return row


def test_the_retention_job_deletes_only_old_rows_in_batches_and_is_safe_to_run_twice(settings):
    settings.JOURNEY = {**settings.JOURNEY, "EVENT_RETENTION_DAYS": 30, "MESSAGE_RETENTION_DAYS": 60,
                        "CONSENT_RETENTION_DAYS": 90, "RETENTION_BATCH_SIZE": 2}
    old_events = [_aged(JourneyEvent, 31, kind="product_view") for _ in range(5)]
    new_event = _aged(JourneyEvent, 29, kind="product_view")
    message = {"tool": "recovery", "kind": "recovery", "to_email": "a@example.com", "due_at": timezone.now()}
    old_sent = _aged(Message, 61, subject_key="a", state="sent", **message)
    TrackingEvent.objects.create(event_id="e1", message=old_sent, event_type="opened", timestamp=timezone.now())
    old_scheduled = _aged(Message, 61, subject_key="b", state="scheduled", **message)
    new_sent = _aged(Message, 59, subject_key="c", state="sent", **message)
    consent_old = _aged(ConsentRecord, 91, version="1", wording="w")
    consent_new = _aged(ConsentRecord, 89, version="1", wording="w")

    outcome = jobs.run_job("purge_old_data", force=True)
    assert outcome.state == "ran" and "5 events" in outcome.summary
    assert list(JourneyEvent.objects.values_list("pk", flat=True)) == [new_event.pk]
    assert set(Message.objects.values_list("pk", flat=True)) == {old_scheduled.pk, new_sent.pk}
    assert not TrackingEvent.objects.exists()
    assert list(ConsentRecord.objects.values_list("pk", flat=True)) == [consent_new.pk]
    assert not JourneyEvent.objects.filter(pk__in=[event.pk for event in old_events]).exists()
    assert not ConsentRecord.objects.filter(pk=consent_old.pk).exists()
    assert "1 messages" in outcome.summary and "1 consent records" in outcome.summary

    again = privacy.purge()
    assert set(again.values()) == {0}
    assert JourneyEvent.objects.count() == 1 and Message.objects.count() == 2


def test_the_retention_job_is_in_the_beat_schedule_and_the_job_list():
    from journey.celery import beat_schedule

    assert beat_schedule()["journey.purge_old_data"]["task"] == "journey.purge_old_data"
    assert jobs.get_job("purge_old_data").interval == 24 * 3600
