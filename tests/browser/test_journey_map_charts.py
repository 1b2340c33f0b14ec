"""The store owner's journey map in a real browser: charts, a category filter, a lane edited, the print view."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import create_order, create_product

from journey.core import events
from journey.core.events import Kind
from journey.core.models import JourneyEvent
from journey.insights.models import LaneNote
from journey.test.factories import basket_with

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
Category = get_model("catalogue", "Category")
ProductCategory = get_model("catalogue", "ProductCategory")


def shop_with_traffic():
    dairy = Category.add_root(name="Dairy")
    Category.add_root(name="Bakery")
    cheese = create_product(title="Manchego", price=Decimal("12.00"), num_in_stock=50)
    ProductCategory.objects.create(product=cheese, category=dairy)
    now = timezone.now()
    rows = []
    for i in range(40):
        at = now - timedelta(days=i % 10, hours=1)
        rows.append(events.build(Kind.CAMPAIGN_LANDING, visitor_id=f"v{i}", at=at, device="mobile",
                                 source="google" if i % 2 else "newsletter", medium="organic" if i % 2 else "email"))
        if i % 4:
            rows.append(events.build(Kind.PRODUCT_VIEW, visitor_id=f"v{i}", at=at + timedelta(minutes=1),
                                     product_id=cheese.pk))
        if i % 8 == 1:
            order = create_order(basket=basket_with([cheese]))
            type(order).objects.filter(pk=order.pk).update(date_placed=at + timedelta(minutes=9))
            rows += [events.build(Kind.BASKET_ADD, visitor_id=f"v{i}", at=at + timedelta(minutes=2),
                                  product_id=cheese.pk),
                     events.build(Kind.CHECKOUT_START, visitor_id=f"v{i}", at=at + timedelta(minutes=5)),
                     events.build(Kind.ORDER_PLACED, visitor_id=f"v{i}", at=at + timedelta(minutes=9),
                                  order_id=order.pk)]
    JourneyEvent.objects.bulk_create(rows)
    return dairy


def test_the_owner_reads_the_charts_filters_a_category_and_adds_a_brake(browser, live_server, shot,
                                                                          sign_in_owner):
    dairy = shop_with_traffic()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    sign_in_owner(page, "/admin/journey/journeymap/")

    # Charts are drawn: the funnel bars, the time series, the sparklines.
    assert page.locator("#jm-funnel-svg rect").count() >= 4
    assert page.locator("#jm-series-svg rect").count() >= 10
    assert page.locator("svg.jm-spark").count() >= 5
    assert page.locator("#jm-funnel-svg").bounding_box()["width"] > 300
    assert page.locator("#jm-funnel-svg rect.jm-bar-brake").count() >= 1  # the 10 % to basket is a brake
    shot(page, "journey-map")

    # The map of one category.
    page.select_option("#id_category", str(dairy.pk))
    page.locator("#jm-filters input[type=submit]").click()
    page.wait_for_url(re.compile(rf".*category={dairy.pk}.*"))
    assert page.inner_text("#jm-scope") == "Category: Dairy"
    shot(page, "journey-map-dairy")

    # Keep the first candidate brake: the note form opens prefilled, saving returns to the Dairy map.
    candidate = page.locator("[data-candidate]").first
    candidate_text = candidate.inner_text()
    candidate.get_by_role("link", name="Keep as a brake").click()
    page.wait_for_url(re.compile(r".*/admin/journey/lanenote/add/.*"))
    assert page.input_value("#id_lane") == "brakes"
    page.fill("#id_text", "Shoppers hesitate at the price of a whole cheese: offer wedges.")
    page.locator("input[name=_save]").click()
    page.wait_for_url(re.compile(rf".*/admin/journey/journeymap/\?category={dairy.pk}$"))
    brakes = page.locator("[data-lane-cell^='brakes-']").all_inner_texts()
    assert any("offer wedges" in text for text in brakes)
    note = LaneNote.objects.get()
    assert (note.lane, note.category_id) == ("brakes", dairy.pk)
    assert "did not go on to" in candidate_text
    shot(page, "journey-map-brake-added")

    # The printable page: no admin chrome, charts still there.
    page.goto(live_server.url + f"/admin/journey/journeymap/?category={dairy.pk}&print=1")
    assert not page.locator("#header").is_visible()
    assert page.locator("#jm-funnel-svg").is_visible() and page.locator("#jm-series-svg").is_visible()
    page.emulate_media(media="print")
    assert not page.locator("#jm-filters").is_visible()
    shot(page, "journey-map-print")
    context.close()
