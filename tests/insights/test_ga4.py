"""GA4 e-commerce: payloads in GA4's item schema for each event, pushed only with consent and a measurement id;
the Measurement Protocol purchase sent once per order, checked against a local HTTP collector."""

import json
import re
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.urls import reverse
from oscar.core.loading import get_model
from oscar.test.factories import create_product

from journey.insights import ga4, ga4_payloads, receivers
from journey.insights.ga4_models import GA4Delivery
from journey.test.checkout import add_to_basket, guest_checkout

pytestmark = pytest.mark.django_db
ITEM_KEYS = {"item_id", "item_name", "item_category", "item_category2", "price", "quantity"}


@pytest.fixture
def measured(settings):
    settings.JOURNEY = {**settings.JOURNEY, "GA4_MEASUREMENT_ID": "G-TEST1234"}


@pytest.fixture
def consented(shopper):
    shopper.post(reverse("journey:consent"), {"action": "save", "analytics": "1"})
    return shopper


@pytest.fixture
def cheddar():
    Category = get_model("catalogue", "Category")
    dairy = Category.add_root(name="Dairy")
    cheese = dairy.add_child(name="Cheese")
    product = create_product(title="Aged Cheddar", price=Decimal("4.50"), num_in_stock=50, upc="0001234")
    product.categories.add(cheese)
    return product


def pushed(html):
    """Every gtag("event", name, params) in a page, in order."""
    decoder = json.JSONDecoder()
    out = []
    for match in re.finditer(r'\("event","(\w+)",', html):
        params, _end = decoder.raw_decode(html, match.end())
        out.append((match.group(1), params))
    return out


def only(html, name):
    found = [params for event, params in pushed(html) if event == name]
    assert len(found) == 1, (name, pushed(html))
    return found[0]


def test_view_item_has_the_ga4_item_schema(consented, cheddar, measured):
    params = only(consented.get(cheddar.get_absolute_url()).content.decode(), "view_item")
    assert params == {"currency": "USD", "value": 4.5, "items": [{
        "item_id": "0001234", "item_name": "Aged Cheddar", "item_category": "Dairy", "item_category2": "Cheese",
        "price": 4.5, "quantity": 1}]}


def test_nothing_is_pushed_without_consent_or_without_a_measurement_id(shopper, cheddar, measured, settings):
    html = shopper.get(cheddar.get_absolute_url()).content.decode()
    assert pushed(html) == [] and "googletagmanager" not in html
    add_to_basket(shopper, cheddar)
    assert "journey_ga4" not in shopper.cookies or not shopper.cookies["journey_ga4"].value
    shopper.post(reverse("journey:consent"), {"action": "accept"})
    settings.JOURNEY = {**settings.JOURNEY, "GA4_MEASUREMENT_ID": None}
    assert pushed(shopper.get(cheddar.get_absolute_url()).content.decode()) == []


def test_add_to_cart_is_pushed_on_the_page_after_the_redirect_once(consented, cheddar, measured):
    response = add_to_basket(consented, cheddar, quantity=3)
    assert response.cookies["journey_ga4"].value  # signed references, carried to the next page
    html = consented.get(reverse("basket:summary")).content.decode()
    params = only(html, "add_to_cart")
    assert params["value"] == 13.5 and params["currency"] == "USD"
    assert params["items"][0]["quantity"] == 3 and set(params["items"][0]) == ITEM_KEYS
    view_cart = only(html, "view_cart")  # the demo's basket page
    assert view_cart["value"] == 13.5 and view_cart["items"][0]["index"] == 1
    assert "add_to_cart" not in dict(pushed(consented.get(reverse("basket:summary")).content.decode()))


def test_a_tampered_carry_over_cookie_is_ignored(consented, cheddar, measured):
    consented.cookies["journey_ga4"] = "W1sicHVyY2hhc2UiLDFdXQ:forged:sig"
    assert pushed(consented.get(reverse("basket:summary")).content.decode()) == []


def test_remove_from_cart_after_deleting_a_line(consented, cheddar, measured):
    add_to_basket(consented, cheddar, quantity=2)
    consented.get(reverse("basket:summary"))
    line = get_model("basket", "Line").objects.get()
    consented.post(reverse("basket:summary"), {
        "form-TOTAL_FORMS": 1, "form-INITIAL_FORMS": 1, "form-MIN_NUM_FORMS": 0, "form-MAX_NUM_FORMS": 1000,
        "form-0-id": line.pk, "form-0-quantity": 2, "form-0-DELETE": "on"})
    params = only(consented.get(reverse("catalogue:index")).content.decode(), "remove_from_cart")
    assert params["value"] == 9.0 and params["items"][0]["item_id"] == "0001234"
    assert params["items"][0]["quantity"] == 2


def test_begin_checkout_and_purchase_along_a_real_checkout(consented, cheddar, measured):
    add_to_basket(consented, cheddar, quantity=2)
    consented.get(reverse("basket:summary"))
    response = consented.post(reverse("checkout:index"), {"username": "ana@example.com", "options": "anonymous"})
    begin = only(consented.get(response["Location"]).content.decode(), "begin_checkout")
    assert begin["value"] == 9.0 and begin["items"][0]["quantity"] == 2
    order = guest_checkout(consented, "ana@example.com")
    params = only(consented.get(reverse("checkout:thank-you")).content.decode(), "purchase")
    assert params["transaction_id"] == order.number and params["currency"] == order.currency
    assert params["value"] == float(order.basket_total_incl_tax) and {"tax", "shipping"} <= set(params)
    assert params["items"][0]["item_name"] == "Aged Cheddar" and params["items"][0]["price"] == 4.5


def test_view_item_list_registers_its_items_for_select_item(consented, cheddar, measured, rf):
    from django.template import Context, Template

    crackers = create_product(title="Rye Crackers", price=Decimal("2.00"), num_in_stock=5)
    request = consented.get("/").wsgi_request
    html = Template("{% load journey_ga4 %}{% journey_ga4_view_item_list products 'Cheese board' %}").render(
        Context({"request": request, "products": [cheddar, crackers]}))
    params = only(html, "view_item_list")
    assert (params["item_list_id"], params["item_list_name"]) == ("cheese_board", "Cheese board")
    assert [(i["index"], i["item_name"], i["item_list_name"]) for i in params["items"]] == [
        (1, "Aged Cheddar", "Cheese board"), (2, "Rye Crackers", "Cheese board")]
    lists = json.loads(html.split("journeyGa4Lists||[]).push(")[1].rsplit(");", 1)[0])
    assert lists["urls"] == {cheddar.get_absolute_url(): 0, crackers.get_absolute_url(): 1}


def test_ga4_js_for_select_item_comes_with_the_snippets(consented, cheddar, measured):
    assert "journey/ga4.js" in consented.get(cheddar.get_absolute_url()).content.decode()


def test_purchase_payload_carries_the_voucher_code_as_coupon():
    from oscar.test.factories import create_order

    order = create_order()
    order.discounts.create(amount=Decimal("1.00"), voucher_code="SPRING10", offer_name="Spring")
    payload = ga4_payloads.purchase(order)
    assert payload["coupon"] == "SPRING10"
    assert set(payload) == {"transaction_id", "currency", "value", "tax", "shipping", "items", "coupon"}


# Measurement Protocol -----------------------------------------------------------------------------------
class Collector(BaseHTTPRequestHandler):
    received = []
    status = 204

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.received.append({"path": self.path, "body": json.loads(body)})
        self.send_response(Collector.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def collector(settings):
    """A local GA4 collector; tasks run in-process (the broker path is Celery's, tested in test_celery_worker)."""
    from celery import current_app

    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    Collector.received = []
    Collector.status = 204
    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.JOURNEY = {**settings.JOURNEY, "GA4_MEASUREMENT_ID": "G-TEST1234", "GA4_API_SECRET": "s3cret",
                        "GA4_MP_ENDPOINT": f"http://127.0.0.1:{server.server_port}/mp/collect"}
    yield Collector
    server.shutdown()
    current_app.conf.task_always_eager = eager


# The payload shape GA4's Measurement Protocol accepts for a purchase (from its reference documentation).
PURCHASE_SHAPE = {"client_id": str, "non_personalized_ads": bool, "events": [{"name": str, "params": {
    "transaction_id": str, "currency": str, "value": float, "tax": float, "shipping": float,
    "engagement_time_msec": int, "items": [{"item_id": str, "item_name": str, "price": float, "quantity": int}]}}]}


def shape_of(value, shape):
    if isinstance(shape, dict):
        assert isinstance(value, dict) and set(shape) <= set(value), (value, shape)
        for key, sub in shape.items():
            shape_of(value[key], sub)
    elif isinstance(shape, list):
        assert isinstance(value, list) and value
        for entry in value:
            shape_of(entry, shape[0])
    else:
        assert isinstance(value, shape), (value, shape)


def test_the_server_side_purchase_is_sent_once_per_order_with_the_recorded_shape(
        consented, cheddar, collector, django_capture_on_commit_callbacks):
    consented.cookies["_ga"] = "GA1.1.1234567890.1700000000"
    add_to_basket(consented, cheddar, quantity=2)
    with django_capture_on_commit_callbacks(execute=True):
        order = guest_checkout(consented)
    delivery = GA4Delivery.objects.get()
    assert (delivery.order_id, delivery.kind, delivery.state, delivery.client_id) == (
        order.pk, "purchase", "sent", "1234567890.1700000000")
    assert len(collector.received) == 1
    request = collector.received[0]
    assert request["path"] == "/mp/collect?measurement_id=G-TEST1234&api_secret=s3cret"
    shape_of(request["body"], PURCHASE_SHAPE)
    assert request["body"]["events"][0]["params"]["transaction_id"] == order.number
    # Again, by every route: the task delivered twice, the periodic job, scheduling again.
    assert ga4.send(delivery.pk) == "not pending"
    assert receivers.schedule(order.pk, "purchase", "x") is False
    GA4Delivery.objects.update(created_at=delivery.created_at.replace(year=2000))
    ga4.send_pending()
    assert len(collector.received) == 1


def test_no_server_side_purchase_without_analytics_consent(shopper, cheddar, collector,
                                                          django_capture_on_commit_callbacks):
    add_to_basket(shopper, cheddar)
    with django_capture_on_commit_callbacks(execute=True):
        guest_checkout(shopper)
    assert not GA4Delivery.objects.exists() and collector.received == []


def test_a_refund_status_sends_a_refund_after_the_purchase(consented, cheddar, collector, settings,
                                                           django_capture_on_commit_callbacks):
    settings.JOURNEY = {**settings.JOURNEY, "GA4_REFUND_STATUSES": ("Cancelled",)}
    add_to_basket(consented, cheddar)
    with django_capture_on_commit_callbacks(execute=True):
        order = guest_checkout(consented)
    with django_capture_on_commit_callbacks(execute=True):
        order.set_status("Cancelled")
    assert [r["body"]["events"][0]["name"] for r in collector.received] == ["purchase", "refund"]
    assert GA4Delivery.objects.filter(kind="refund", state="sent").count() == 1


def test_a_collector_error_marks_the_delivery_failed_without_resending(consented, cheddar, collector,
                                                                       django_capture_on_commit_callbacks):
    collector.status = 500
    add_to_basket(consented, cheddar)
    with django_capture_on_commit_callbacks(execute=True):
        guest_checkout(consented)
    delivery = GA4Delivery.objects.get()
    assert (delivery.state, delivery.response_status, delivery.error) == ("failed", 500, "HTTP 500")
    assert ga4.send(delivery.pk) == "not pending" and len(collector.received) == 1
