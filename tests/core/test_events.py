"""First-party events: recorded once per action with the right phase, tool, visitor and device; written with one
INSERT per request; landings from UTM parameters, click ids and external referrers."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import UserFactory, create_product

from journey.core import events, traffic
from journey.core.events import Kind
from journey.core.models import JourneyEvent, Message
from journey.core.tracking import apply_event
from journey.core.vouchers import issue_personal_voucher
from journey.test.checkout import add_to_basket, guest_checkout
from tests.conftest import DESKTOP_USER_AGENT

pytestmark = pytest.mark.django_db
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


@pytest.fixture
def product():
    return create_product(title="Aged Cheddar", price=Decimal("4.50"), num_in_stock=50)


def kinds():
    return list(JourneyEvent.objects.order_by("pk").values_list("kind", flat=True))


def test_a_product_view_is_recorded_once_with_phase_tool_visitor_and_device(shopper, product):
    response = shopper.get(product.get_absolute_url())
    assert response.status_code == 200
    event = JourneyEvent.objects.get()
    assert (event.kind, event.phase, event.tool, event.product_id) == ("product_view", "convince", "catalogue",
                                                                       product.pk)
    assert event.device == "desktop" and event.visitor_id.startswith("d") and event.user_id is None


def test_a_signed_in_shoppers_event_carries_the_user(shopper, product):
    user = UserFactory()
    shopper.force_login(user)
    shopper.get(product.get_absolute_url())
    assert JourneyEvent.objects.get().user_id == user.pk


def test_the_device_class_comes_from_the_user_agent():
    assert events.device_class(PHONE) == "mobile"
    assert events.device_class("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15") == "tablet"
    assert events.device_class("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 Safari/537.36") \
        == "tablet"
    assert events.device_class("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari") \
        == "mobile"
    assert events.device_class(DESKTOP_USER_AGENT) == "desktop"
    assert events.device_class("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)") == "bot"
    assert events.device_class("") == "bot"


def test_bots_are_not_recorded_unless_asked(client, product, settings):
    client.defaults["HTTP_USER_AGENT"] = "Mozilla/5.0 (compatible; bingbot/2.0)"
    client.get(product.get_absolute_url())
    assert not JourneyEvent.objects.exists()
    settings.JOURNEY = {**settings.JOURNEY, "EVENTS_RECORD_BOTS": True}
    client.get(product.get_absolute_url())
    assert JourneyEvent.objects.get().device == "bot"


def test_nothing_is_recorded_when_events_are_off(shopper, product, settings):
    settings.JOURNEY = {**settings.JOURNEY, "EVENTS_ENABLED": False}
    shopper.get(product.get_absolute_url())
    add_to_basket(shopper, product)
    assert not JourneyEvent.objects.exists()


def test_the_product_page_costs_at_most_one_extra_query(shopper, product, settings):
    shopper.get(product.get_absolute_url())  # warm caches
    settings.JOURNEY = {**settings.JOURNEY, "EVENTS_ENABLED": False}
    with CaptureQueriesContext(connection) as off:
        shopper.get(product.get_absolute_url())
    settings.JOURNEY = {**settings.JOURNEY, "EVENTS_ENABLED": True}
    with CaptureQueriesContext(connection) as on:
        shopper.get(product.get_absolute_url())
    assert len(on) - len(off) <= 1
    assert sum('INSERT INTO "journey_journeyevent"' in q["sql"] for q in on.captured_queries) == 1


def test_several_events_of_one_request_are_written_with_one_insert(rf, product):
    from journey.core.middleware import JourneyMiddleware

    def view(request):
        for _ in range(3):
            events.record(Kind.PRODUCT_VIEW, request=request, product_id=product.pk)
        from django.http import HttpResponse

        return HttpResponse("ok")

    request = rf.get("/x/", HTTP_USER_AGENT=DESKTOP_USER_AGENT)
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    with CaptureQueriesContext(connection) as ctx:
        JourneyMiddleware(view)(request)
    assert JourneyEvent.objects.count() == 3
    assert len([q for q in ctx.captured_queries if "journey_journeyevent" in q["sql"]]) == 1


def test_adding_to_the_basket_is_recorded_once_and_costs_at_most_one_extra_query(shopper, product, settings):
    add_to_basket(shopper, product)  # the basket exists from now on
    JourneyEvent.objects.all().delete()
    settings.JOURNEY = {**settings.JOURNEY, "EVENTS_ENABLED": False}
    with CaptureQueriesContext(connection) as off:
        add_to_basket(shopper, product)
    settings.JOURNEY = {**settings.JOURNEY, "EVENTS_ENABLED": True}
    with CaptureQueriesContext(connection) as on:
        add_to_basket(shopper, product, quantity=2)
    assert len(on) - len(off) <= 1
    event = JourneyEvent.objects.get()
    basket = get_model("basket", "Basket").objects.get()
    assert (event.kind, event.phase, event.tool, event.product_id, event.basket_id, event.data) == (
        "basket_add", "sell", "basket", product.pk, basket.pk, {"quantity": 2})


def _basket_form(shopper, **changes):
    basket = get_model("basket", "Basket").objects.get()
    lines = list(basket.lines.order_by("pk"))
    data = {"form-TOTAL_FORMS": len(lines), "form-INITIAL_FORMS": len(lines), "form-MIN_NUM_FORMS": 0,
            "form-MAX_NUM_FORMS": 1000}
    for i, line in enumerate(lines):
        data[f"form-{i}-id"] = line.pk
        data[f"form-{i}-quantity"] = line.quantity
    data.update(changes)
    return shopper.post(reverse("basket:summary"), data)


def test_removing_a_line_in_the_basket_is_recorded_once(shopper, product):
    other = create_product(title="Rye Crackers", price=Decimal("2.00"), num_in_stock=10)
    add_to_basket(shopper, product, quantity=2)
    add_to_basket(shopper, other)
    JourneyEvent.objects.all().delete()
    response = _basket_form(shopper, **{"form-0-DELETE": "on"})
    assert response.status_code == 302
    event = JourneyEvent.objects.get()
    assert (event.kind, event.phase, event.tool, event.product_id, event.value, event.data) == (
        "basket_remove", "sell", "basket", product.pk, Decimal("9.00"), {"quantity": 2})


def test_setting_a_quantity_to_zero_counts_as_a_removal(shopper, product):
    add_to_basket(shopper, product)
    JourneyEvent.objects.all().delete()
    _basket_form(shopper, **{"form-0-quantity": 0})
    assert kinds() == ["basket_remove"]


def test_a_basket_merged_at_login_is_not_a_removal(shopper, product):
    user = UserFactory(email="ana@example.com")
    user.set_password("pw-ana-123")
    user.save()
    from journey.test.factories import basket_with

    Basket = get_model("basket", "Basket")
    basket_with([product], owner=user)  # the same product in the account's basket: merging deletes the guest's line
    add_to_basket(shopper, product)
    JourneyEvent.objects.all().delete()
    response = shopper.post(reverse("customer:login"), {"login-username": "ana@example.com",
                                                        "login-password": "pw-ana-123", "login_submit": "1"})
    assert response.status_code == 302
    shopper.get(reverse("basket:summary"))
    assert Basket.objects.filter(owner=None, status="Merged").exists()  # the guest's line was merged away
    assert "basket_remove" not in kinds()


def test_a_line_deleted_outside_a_request_is_not_a_removal(product):
    from journey.test.factories import basket_with

    basket = basket_with([product])
    basket.lines.get().delete()
    assert not JourneyEvent.objects.exists()


def test_checkout_start_and_order_are_recorded_once_along_a_real_guest_checkout(shopper, product):
    add_to_basket(shopper, product, quantity=2)
    order = guest_checkout(shopper, "ana@example.com")
    assert kinds() == ["basket_add", "checkout_start", "order_placed"]
    start = JourneyEvent.objects.get(kind="checkout_start")
    placed = JourneyEvent.objects.get(kind="order_placed")
    assert (start.phase, start.tool, start.data) == ("sell", "checkout", {"guest": True})
    assert (placed.phase, placed.tool, placed.order_id, placed.value, placed.ref) == (
        "sell", "checkout", order.pk, order.total_incl_tax, order.number)
    assert placed.visitor_id == start.visitor_id != ""
    assert "payment_source_types" not in placed.data  # the demo's checkout takes no payment


def test_an_order_carries_the_payment_source_type_oscar_recorded(shopper, product, monkeypatch):
    PaymentDetailsView = __import__("oscar.apps.checkout.views", fromlist=["PaymentDetailsView"]).PaymentDetailsView
    Source = get_model("payment", "Source")
    SourceType = get_model("payment", "SourceType")

    def handle_payment(self, order_number, total, **kwargs):  # what a shop's payment integration does
        card, _ = SourceType.objects.get_or_create(code="card", defaults={"name": "Card"})
        self.add_payment_source(Source(source_type=card, amount_allocated=total.incl_tax, reference="tx-1"))

    monkeypatch.setattr(PaymentDetailsView, "handle_payment", handle_payment)
    add_to_basket(shopper, product)
    order = guest_checkout(shopper)
    placed = JourneyEvent.objects.get(kind="order_placed")
    assert placed.order_id == order.pk and placed.data["payment_source_types"] == ["card"]


def test_an_order_placed_outside_a_request_is_recorded_on_commit_with_its_sources(
        django_capture_on_commit_callbacks):
    from oscar.test.factories import create_order

    SourceType = get_model("payment", "SourceType")
    with django_capture_on_commit_callbacks(execute=True):
        order = create_order()
        order.sources.create(source_type=SourceType.objects.create(code="paypal", name="PayPal"),
                             amount_allocated=order.total_incl_tax)
    placed = JourneyEvent.objects.get(kind="order_placed")
    assert placed.order_id == order.pk and placed.data["payment_source_types"] == ["paypal"]
    assert placed.visitor_id == ""


def test_a_signed_in_checkout_start_is_recorded(shopper, product):
    shopper.force_login(UserFactory())
    add_to_basket(shopper, product)
    shopper.get(reverse("checkout:index"))
    assert kinds() == ["basket_add", "checkout_start"]


def test_a_related_list_click_is_recorded_with_list_and_position(shopper, product):
    other = create_product(title="Rye Crackers", price=Decimal("2.00"), num_in_stock=10)
    response = shopper.post(reverse("journey:related-click"), {"kind": 1, "product": other.pk, "anchor": product.pk,
                                                               "position": 3, "source": 3})
    assert response.status_code == 204
    event = JourneyEvent.objects.get()
    assert (event.kind, event.phase, event.tool, event.product_id, event.ref) == (
        "related_click", "convince", "related", other.pk, str(product.pk))
    assert event.data == {"list": "bought_together", "position": 3, "source": 3}
    shopper.post(reverse("journey:related-click"), {"kind": 2, "product": other.pk, "position": 1})
    assert JourneyEvent.objects.order_by("-pk").first().phase == "sell"


def _message(**fields):
    defaults = {"tool": "recovery", "kind": "recovery", "subject_key": "t:1", "to_email": "ana@example.com",
                "due_at": timezone.now(), "context": {}}
    return Message.objects.create(**{**defaults, **fields})


def test_a_sent_mail_is_recorded_with_its_tool_and_phase(django_capture_on_commit_callbacks):
    from journey import signals

    message = _message()
    signals.message_sent.send(sender=Message, message=message)
    event = JourneyEvent.objects.get()
    assert (event.kind, event.tool, event.phase, event.ref) == ("mail_sent", "recovery", "sell", str(message.pk))


def test_mails_sent_by_the_outbox_are_recorded_once_each():
    from journey.core import outbox

    from .test_outbox import abandoned

    message = abandoned()
    JourneyEvent.objects.all().delete()
    outbox.send_due(now=timezone.now())
    outbox.send_due(now=timezone.now())
    assert len(mail.outbox) == 1
    event = JourneyEvent.objects.get()
    assert (event.kind, event.tool, event.ref) == ("mail_sent", "recovery", str(message.pk))


def test_the_first_open_and_click_of_a_mail_are_recorded_once():
    from anymail.signals import AnymailTrackingEvent

    message = _message(esp_message_id="esp-1")

    def tracking(event_type, event_id):
        return AnymailTrackingEvent(event_type=event_type, message_id="esp-1", event_id=event_id,
                                    recipient="ana@example.com", timestamp=timezone.now())

    assert apply_event(tracking("opened", "o1"), "test")
    assert apply_event(tracking("opened", "o2"), "test")  # a second open: applied, not a second event
    assert not apply_event(tracking("opened", "o1"), "test")  # the same webhook again
    assert apply_event(tracking("clicked", "c1"), "test")
    assert kinds() == ["mail_opened", "mail_clicked"]
    assert set(JourneyEvent.objects.values_list("ref", flat=True)) == {str(message.pk)}


def test_an_issued_personal_voucher_is_recorded():
    user = UserFactory(email="leo@example.com")
    binding = issue_personal_voucher(purpose="birthday", key="birthday:leo:2025", user=user, email=user.email,
                                     kind="percentage", value=Decimal("10"), valid_days=30)
    event = JourneyEvent.objects.get()
    assert (event.kind, event.tool, event.phase, event.user_id, event.ref) == (
        "voucher_issued", "birthday", "retain", user.pk, binding.voucher.code)


# Landings -------------------------------------------------------------------------------------------------
def test_a_first_request_with_utm_parameters_is_a_landing_with_source_medium_campaign(shopper, product):
    url = product.get_absolute_url() + "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
    shopper.get(url)
    landing = JourneyEvent.objects.get(kind="landing")
    assert (landing.phase, landing.tool, landing.source, landing.medium, landing.campaign) == (
        "attract", "utm", "newsletter", "email", "spring")
    view = JourneyEvent.objects.get(kind="product_view")
    assert (view.source, view.medium, view.campaign) == ("newsletter", "email", "spring")
    shopper.get(url)  # a reload: the same visit
    assert JourneyEvent.objects.filter(kind="landing").count() == 1
    shopper.get(product.get_absolute_url())  # the next page of the visit keeps the visit's source
    assert JourneyEvent.objects.order_by("-pk").first().source == "newsletter"


def test_a_click_id_without_utm_is_a_paid_landing(shopper, product):
    shopper.get(product.get_absolute_url() + "?gclid=abc123")
    landing = JourneyEvent.objects.get(kind="landing")
    assert (landing.source, landing.medium, landing.tool, landing.data["gclid"]) == ("google", "cpc", "ads", "abc123")


@pytest.mark.parametrize(("referrer", "source", "medium"), [
    ("https://www.google.es/", "google", "organic"),
    ("https://duckduckgo.com/?q=cheddar", "duckduckgo", "organic"),
    ("https://l.facebook.com/l.php?u=x", "facebook", "social"),
    ("https://t.co/xyz", "twitter", "social"),
    ("https://blog.example.org/best-cheese", "blog.example.org", "referral"),
])
def test_an_external_referrer_is_a_landing_classified_by_site(shopper, product, referrer, source, medium):
    shopper.get(product.get_absolute_url(), HTTP_REFERER=referrer)
    landing = JourneyEvent.objects.get(kind="landing")
    assert (landing.source, landing.medium) == (source, medium)


def test_navigation_inside_the_shop_is_not_a_landing(shopper, product):
    shopper.get(product.get_absolute_url(), HTTP_REFERER="http://testserver/catalogue/")
    shopper.get(product.get_absolute_url())
    assert "landing" not in kinds()


def test_a_campaign_landing_recorded_by_a_tool_is_not_doubled(rf, product):
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse

    from journey.core.middleware import JourneyMiddleware

    def campaign_view(request):
        events.record(Kind.CAMPAIGN_LANDING, request=request, tool="campaigns", ref="7",
                      data={"utm_source": "facebook", "utm_medium": "paid_social", "utm_campaign": "spring"})
        return HttpResponse("ok")

    request = rf.get("/c/spring/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring",
                     HTTP_USER_AGENT=DESKTOP_USER_AGENT)
    request.user = AnonymousUser()
    JourneyMiddleware(campaign_view)(request)
    assert list(JourneyEvent.objects.values_list("tool", flat=True)) == ["campaigns"]


def test_referrer_classification_without_a_request():
    assert traffic.classify_referrer("https://search.brave.com/search?q=x") == ("brave", "organic")
    assert traffic.classify_referrer("not a url") == ("", "")
    assert traffic.landing_from({"utm_campaign": "x"}, "", {"shop.example.com"}) is None


def test_a_missing_middleware_is_reported_by_a_system_check(settings):
    from journey.checks import check_journey_middleware

    assert check_journey_middleware() == []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "JourneyMiddleware" not in m]
    assert [m.id for m in check_journey_middleware()] == ["journey.W010"]
    settings.JOURNEY = {**settings.JOURNEY, "EVENTS_ENABLED": False, "CONSENT_BANNER": False}
    assert check_journey_middleware() == []
