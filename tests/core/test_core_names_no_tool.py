"""The core names no tool: not by import (import-linter checks that), not by a model's name in a string; what a tool
adds to the core's pages, privacy operations and signals it registers itself, and a tool that is not in
JOURNEY["TOOLS"] adds nothing."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from oscar.test.factories import create_product

import journey
from journey.conf import BUILTIN_TOOLS
from journey.core import consent, privacy, third_party

CORE = Path(journey.__file__).parent / "core"
CRISP = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"
SNIPPETS = ("googletagmanager.com/gtag", "static.hotjar.com", "client.crisp.chat")
MODEL_BY_NAME = re.compile(r"""get_model\(\s*["']journey["']\s*,\s*["'](\w+)["']|["']journey\.(\w+)["']""")


def core_models():
    return {m.__name__ for m in apps.get_app_config("journey").get_models() if m.__module__.startswith("journey.core.")}


def test_no_core_module_names_a_tools_model_even_by_string():
    tool_models = {m.__name__ for m in apps.get_app_config("journey").get_models()} - core_models()
    assert {"BasketActivity", "RelatedClick", "GA4Delivery", "Campaign"} <= tool_models
    named = []
    for path in CORE.rglob("*.py"):
        for match in MODEL_BY_NAME.finditer(path.read_text()):
            name = match.group(1) or match.group(2)
            if name in tool_models:
                named.append(f"{path.relative_to(CORE)}: {name}")
    assert named == []


def test_the_tools_register_their_own_erasers_finders_and_purgers():
    erasers, finders, purgers = privacy.erasers(), privacy._finders, privacy._purgers
    assert erasers["basket activity"].__module__ == "journey.recovery.privacy"
    assert erasers["related clicks"].__module__ == "journey.related.privacy"
    assert erasers["GA4 deliveries"].__module__ == "journey.insights.privacy"
    assert finders["recovered baskets"].__module__ == "journey.recovery.privacy"
    assert purgers["GA4 deliveries"].__module__ == "journey.insights.privacy"
    assert erasers["events"].__module__ == "journey.core.privacy"


@pytest.fixture
def tags_configured(settings):
    settings.JOURNEY = {**settings.JOURNEY, "GA4_MEASUREMENT_ID": "G-TEST1234", "HOTJAR_SITE_ID": "1234567",
                        "CHAT_PROVIDER": "crisp", "CHAT_ID": CRISP}


def without_insights(settings):
    settings.JOURNEY = {**settings.JOURNEY, "TOOLS": [p for p in BUILTIN_TOOLS if p != "journey.insights"]}


@pytest.mark.django_db
def test_without_insights_the_head_has_the_consent_defaults_and_no_third_party_snippet(client, tags_configured,
                                                                                      settings):
    product = create_product(title="Aged Cheddar", price=Decimal("4.50"), num_in_stock=5)
    answer = client.post(reverse("journey:consent"), {"action": "accept", "next": "/"},
                         HTTP_ACCEPT="application/json")
    assert "googletagmanager.com/gtag" in answer.json()["snippets"]
    html = client.get(product.get_absolute_url()).content.decode()
    assert {s for s in SNIPPETS if s in html} == set(SNIPPETS)

    without_insights(settings)
    html = client.get(product.get_absolute_url()).content.decode()
    assert '"consent","default"' in html and '"consent","update"' in html
    assert {s for s in SNIPPETS if s in html} == set()
    answer = client.post(reverse("journey:consent"), {"action": "accept", "next": "/"},
                         HTTP_ACCEPT="application/json")
    assert answer.json()["snippets"] == ""


@pytest.mark.django_db
def test_the_ga4_tags_render_nothing_without_insights(tags_configured, settings):
    product = create_product(title="Aged Cheddar", price=Decimal("4.50"), num_in_stock=5)
    request = RequestFactory().get("/")
    setattr(request, consent.REQUEST_ATTR, consent.Consent(analytics=True, decided=True))
    template = Template("{% load journey_ga4 %}{% journey_ga4_view_item product %}")
    assert 'data-journey-ga4="view_item"' in template.render(Context({"request": request, "product": product}))
    without_insights(settings)
    assert template.render(Context({"request": request, "product": product})) == ""


def test_a_hosts_tag_set_renders_and_a_tool_packages_only_while_installed(settings):
    host = third_party.TagSet("host_pixel", head=lambda request, choice: "<i>pixel</i>",
                              snippets=lambda request, choice, *, secret_page=None: "<i>start</i>")
    off = third_party.TagSet("off_tool", head=lambda request, choice: "<b>no</b>",
                             snippets=lambda request, choice, *, secret_page=None: "<b>no</b>",
                             package="shop.not_installed")
    third_party.register(host)
    third_party.register(off)
    try:
        assert "<i>pixel</i>" in third_party.head_html(None, None) and "<b>" not in third_party.head_html(None, None)
        assert third_party.snippets_html(None, None, secret_page=False).endswith("<i>start</i>")
    finally:
        third_party.unregister("host_pixel")
        third_party.unregister("off_tool")


# The registry's series and touches hooks: how insights reads a tool ---------------------------------------------
def _host_tool(**hooks):
    from journey.phases import Phase
    from journey.registry import Tool

    return Tool(key="host_pings", name="Pings", description="A host's own tool.", phases=[Phase.RETAIN], **hooks)


@pytest.mark.django_db
def test_a_tools_series_hook_is_its_sparkline_on_the_map(settings):
    from django.utils import timezone

    from journey.core.reporting import store_time_zone
    from journey.insights.journey_map import build_journey_map
    from journey.registry import registry

    today = timezone.now().astimezone(store_time_zone()).date()
    tool = _host_tool(series=lambda start, end: {today: 7}, series_title="Pings per day")
    registry.register(tool)
    try:
        journey_map = build_journey_map("7")
    finally:
        registry.unregister("host_pings")
    card = next(card for column in journey_map.columns for card in column.cards if card.tool.key == "host_pings")
    assert card.sparkline is not None and card.sparkline.title == "Pings per day"
    assert card.sparkline.last == 7 and card.sparkline.total == 7


@pytest.mark.django_db
def test_a_tools_touches_hook_brings_orders_in_attribution():
    from datetime import timedelta

    from django.utils import timezone
    from oscar.test.factories import create_order

    from journey.core.registry import OrderTouch, registry
    from journey.insights.attribution import attribute_orders

    order = create_order()
    seen = []

    def touches(orders, start, end, since):
        seen.append((start, end, since))
        return [OrderTouch(None, "voucher", order_id=pk, ref="PING", label="1.00")
                for pk in orders.values_list("pk", flat=True)]

    registry.register(_host_tool(touches=touches))
    now = timezone.now()
    try:
        result = attribute_orders(now - timedelta(days=1), now + timedelta(minutes=1))
    finally:
        registry.unregister("host_pings")
    assert result.orders[0].order_id == order.pk and result.orders[0].tool == "host_pings"
    assert result.tool("host_pings").orders == 1 and seen


@pytest.mark.django_db
def test_the_core_announces_each_ecommerce_action_with_a_public_signal(client):
    from journey import signals

    product = create_product(title="Aged Cheddar", price=Decimal("4.50"), num_in_stock=5)
    heard, ends = [], []

    def on_event(sender, name, ref, request=None, **kwargs):
        heard.append((name, ref, request is not None))

    def on_end(sender, request, response, capture, **kwargs):
        ends.append(response.status_code)

    signals.ecommerce_event.connect(on_event)
    signals.request_captured.connect(on_end)
    try:
        client.get(product.get_absolute_url())
        client.post(reverse("basket:add", kwargs={"pk": product.pk}), {"quantity": 2})
    finally:
        signals.ecommerce_event.disconnect(on_event)
        signals.request_captured.disconnect(on_end)
    assert heard == [("view_item", product.pk, True), ("add_to_cart", [product.pk, 2], True)]
    assert ends[:2] == [200, 302]
