"""The funnel on a small fixture whose numbers are worked out by hand (see the docstring of ``shop_day``)."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import create_order, create_product

from journey.core import events
from journey.core.events import Kind
from journey.core.models import JourneyEvent
from journey.core.reporting import store_time_zone
from journey.exceptions import FunnelError
from journey.insights import funnel as funnel_module
from journey.insights.funnel import funnel, rollup_job
from journey.insights.models import FunnelDay, RollupDay
from journey.test.factories import basket_with

pytestmark = pytest.mark.django_db
Category = get_model("catalogue", "Category")
ProductCategory = get_model("catalogue", "ProductCategory")
DAY = date(2025, 3, 10)


def at(day=DAY, hour=12, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=store_time_zone())


def event(kind, visitor, when, **fields):
    return events.build(kind, visitor_id=visitor, at=when, **fields)


def order_for(user, product, when):
    order = create_order(user=user, basket=basket_with([product], owner=user))
    type(order).objects.filter(pk=order.pk).update(date_placed=when)
    return order


@pytest.fixture
def shop_day(django_user_model):
    """Six visits on DAY (store time zone):

    V1 google/organic, mobile: landing, views and adds cheese, checkout, orders (A's first order)    -> all but repeat
    V2 newsletter/email/spring: landing, views and adds bread                                         -> to basket
    V3 google/organic: landing, views milk                                                            -> to view
    V4 no landing today, but a facebook/cpc/spring landing 3 days before: cheese viewed, added, checkout, ordered;
       B ordered 10 days before, so this is a repeat order                                           -> everything
    V5 direct (never landed): views bread                                                             -> view only
    V6 signed-in user C without a visitor id: landing google/organic                                  -> attract only
    """
    dairy = Category.add_root(name="Dairy")
    cheese_cat = dairy.add_child(name="Cheese")
    bakery = Category.add_root(name="Bakery")
    cheese = create_product(title="Manchego", price=Decimal("12.00"), num_in_stock=10)
    milk = create_product(title="Milk", price=Decimal("1.00"), num_in_stock=10)
    bread = create_product(title="Bread", price=Decimal("2.00"), num_in_stock=10)
    for product, category in ((cheese, cheese_cat), (milk, dairy), (bread, bakery)):
        ProductCategory.objects.create(product=product, category=category)
    a = django_user_model.objects.create_user("a", "a@example.com", "pw")
    b = django_user_model.objects.create_user("b", "b@example.com", "pw")
    c = django_user_model.objects.create_user("c", "c@example.com", "pw")
    order_for(b, bread, at(DAY - timedelta(days=10)))
    o1 = order_for(a, cheese, at(hour=12, minute=30))
    o4 = order_for(b, cheese, at(hour=16, minute=30))
    google = {"source": "google", "medium": "organic"}
    rows = [
        event(Kind.CAMPAIGN_LANDING, "v1", at(hour=12), device="mobile", **google),
        event(Kind.PRODUCT_VIEW, "v1", at(hour=12, minute=5), device="mobile", product_id=cheese.pk),
        event(Kind.BASKET_ADD, "v1", at(hour=12, minute=10), device="mobile", product_id=cheese.pk),
        event(Kind.CHECKOUT_START, "v1", at(hour=12, minute=20), device="mobile", user=a),
        event(Kind.ORDER_PLACED, "v1", at(hour=12, minute=30), device="mobile", user=a, order_id=o1.pk,
              value=o1.total_incl_tax),
        event(Kind.CAMPAIGN_LANDING, "v2", at(hour=9), device="desktop", source="newsletter", medium="email",
              campaign="spring", tool="campaigns", ref="7"),
        event(Kind.PRODUCT_VIEW, "v2", at(hour=9, minute=1), device="desktop", product_id=bread.pk),
        event(Kind.BASKET_ADD, "v2", at(hour=9, minute=2), device="desktop", product_id=bread.pk),
        event(Kind.CAMPAIGN_LANDING, "v3", at(hour=10), device="desktop", **google),
        event(Kind.PRODUCT_VIEW, "v3", at(hour=10, minute=1), device="desktop", product_id=milk.pk),
        event(Kind.CAMPAIGN_LANDING, "v4", at(DAY - timedelta(days=3)), device="desktop", source="facebook",
              medium="cpc", campaign="spring"),
        event(Kind.PRODUCT_VIEW, "v4", at(hour=16), device="desktop", product_id=cheese.pk, user=b),
        event(Kind.BASKET_ADD, "v4", at(hour=16, minute=5), device="desktop", product_id=cheese.pk, user=b),
        event(Kind.CHECKOUT_START, "v4", at(hour=16, minute=10), device="desktop", user=b),
        event(Kind.ORDER_PLACED, "v4", at(hour=16, minute=30), device="desktop", user=b, order_id=o4.pk),
        event(Kind.PRODUCT_VIEW, "v5", at(hour=18), device="desktop", product_id=bread.pk),
        event(Kind.CAMPAIGN_LANDING, "", at(hour=20), user=c, **google),
        # Not funnel steps, or nobody to count: ignored.
        event(Kind.MAIL_OPENED, "v2", at(hour=8), tool="recovery"),
        event(Kind.PRODUCT_VIEW, "", at(hour=11), product_id=milk.pk),
    ]
    JourneyEvent.objects.bulk_create(rows)
    return {"dairy": dairy, "cheese_cat": cheese_cat, "bakery": bakery, "cheese": cheese, "bread": bread,
            "milk": milk}


def visits(result):
    return [s.visits for s in result.steps]


def test_closed_funnel_counts_visits_that_reached_every_step_before(shop_day):
    result = funnel(DAY, DAY)
    assert result.visits == 6
    assert visits(result) == [5, 4, 3, 2, 2, 1]
    assert [s.conversion for s in result.steps] == [None, Decimal("80.0"), Decimal("75.0"), Decimal("66.7"),
                                                    Decimal("100.0"), Decimal("50.0")]
    assert [s.step.phase for s in result.steps] == ["attract", "convince", "sell", "sell", "sell", "retain"]


def test_open_funnel_counts_every_visit_that_reached_the_step(shop_day):
    result = funnel(DAY, DAY, mode="open")
    assert visits(result) == [5, 5, 3, 2, 2, 1]  # V5 viewed without landing
    assert result.step("view").open_visits == 5


def test_breakdown_by_source_uses_the_landing_or_the_carried_landing(shop_day):
    rows = {row.value: visits_row for row in funnel(DAY, DAY, by="source").breakdown
            for visits_row in [[s.visits for s in row.steps]]}
    assert rows == {
        "google": [3, 2, 1, 1, 1, 0],
        "newsletter": [1, 1, 1, 0, 0, 0],
        "facebook": [1, 1, 1, 1, 1, 1],  # V4's landing three days before
        "": [0, 0, 0, 0, 0, 0],  # V5, direct
    }


def test_breakdown_by_campaign_and_device(shop_day):
    campaigns = {row.value: row.visits for row in funnel(DAY, DAY, by="campaign").breakdown}
    assert campaigns == {"spring": 2, "": 4}
    devices = {row.value: [s.visits for s in row.steps] for row in funnel(DAY, DAY, by="device").breakdown}
    assert devices == {"mobile": [1, 1, 1, 1, 1, 0], "desktop": [3, 3, 2, 1, 1, 1], "": [1, 0, 0, 0, 0, 0]}


def test_category_funnel_includes_subcategories_and_counts_product_steps_in_the_category(shop_day):
    assert visits(funnel(DAY, DAY, category=shop_day["dairy"])) == [3, 3, 2, 2, 2, 1]
    assert visits(funnel(DAY, DAY, category=shop_day["cheese_cat"])) == [2, 2, 2, 2, 2, 1]
    assert visits(funnel(DAY, DAY, category=shop_day["bakery"])) == [1, 1, 1, 0, 0, 0]
    assert funnel(DAY, DAY, category=shop_day["bakery"], mode="open").step("view").visits == 2


def test_product_funnel(shop_day):
    assert visits(funnel(DAY, DAY, product=shop_day["milk"])) == [1, 1, 0, 0, 0, 0]
    assert visits(funnel(DAY, DAY, product=shop_day["cheese"].pk)) == [2, 2, 2, 2, 2, 1]


def test_breakdown_by_category_has_a_row_per_top_level_category(shop_day):
    result = funnel(DAY, DAY, by="category")
    assert [(row.label, row.visits) for row in result.breakdown] == [("Dairy", 3), ("Bakery", 2)]
    sub = funnel(DAY, DAY, category=shop_day["dairy"], by="category")
    assert [(row.label, [s.visits for s in row.steps]) for row in sub.breakdown] == [("Cheese", [2, 2, 2, 2, 2, 1])]


def test_days_before_and_after_are_not_counted(shop_day):
    assert funnel(DAY + timedelta(days=1), DAY + timedelta(days=5)).visits == 0
    # V4's old landing day: one visit, attracted.
    assert visits(funnel(DAY - timedelta(days=3), DAY - timedelta(days=3))) == [1, 0, 0, 0, 0, 0]


def test_a_late_evening_event_counts_on_the_store_day_not_the_utc_day(db):
    late = at(hour=23, minute=30)  # the next day in UTC
    JourneyEvent.objects.bulk_create([event(Kind.CAMPAIGN_LANDING, "night", late, source="google")])
    assert funnel(DAY, DAY).visits == 1
    assert funnel(DAY + timedelta(days=1), DAY + timedelta(days=1)).visits == 0
    # Datetimes: [start, end) in the store's days.
    assert funnel(at(hour=0), at(DAY + timedelta(days=1), hour=0)).visits == 1


def test_the_rollup_gives_the_same_numbers_and_is_idempotent(shop_day):
    live = funnel(DAY, DAY, by="source")
    live_dairy = funnel(DAY, DAY, category=shop_day["dairy"])
    now = at(DAY + timedelta(days=2))
    summary = rollup_job(now=now)
    assert "days rolled up" in summary
    assert RollupDay.objects.get(day=DAY).final
    rows = FunnelDay.objects.count()
    assert rows > 0
    assert rollup_job(now=now).startswith("0 days")  # nothing left to do
    funnel_module.rollup(DAY, DAY, now)  # forced again: same rows, not doubled
    assert FunnelDay.objects.count() == rows
    stored = funnel(DAY, DAY, by="source")
    assert stored.live_days == 0 and live.live_days == 1
    assert visits(stored) == visits(live)
    assert [(r.value, r.visits) for r in stored.breakdown] == [(r.value, r.visits) for r in live.breakdown]
    assert visits(funnel(DAY, DAY, category=shop_day["dairy"])) == visits(live_dairy)


def test_a_day_rolled_up_before_it_ended_is_recomputed_later(shop_day):
    funnel_module.rollup(DAY, DAY, now=at(hour=13))  # mid-day: provisional
    assert not RollupDay.objects.get(day=DAY).final
    assert funnel(DAY, DAY).visits == 6  # provisional days are read live
    rollup_job(now=at(DAY + timedelta(days=1), hour=12))
    assert RollupDay.objects.get(day=DAY).final
    assert funnel(DAY, DAY).visits == 6


def test_today_is_read_live(db):
    now = timezone.now()
    JourneyEvent.objects.bulk_create([event(Kind.CAMPAIGN_LANDING, "today", now - timedelta(minutes=1))])
    rollup_job(now=now)
    today = now.astimezone(store_time_zone()).date()
    result = funnel(today, today)
    assert result.visits == 1 and result.live_days == 1


def test_step_with_a_big_drop_off_is_a_candidate_brake(shop_day):
    result = funnel(DAY, DAY)
    assert [s.step.key for s in result.brakes(threshold=Decimal("50"))] == ["repeat"]
    assert [s.step.key for s in result.brakes(threshold=Decimal("30"))] == ["checkout", "repeat"]


def test_daily_series_per_step(shop_day):
    result = funnel(DAY - timedelta(days=1), DAY)
    assert result.daily["attract"] == [(DAY - timedelta(days=1), 0), (DAY, 5)]
    assert result.daily["order"][-1] == (DAY, 2)


def test_bad_arguments_are_clear_errors(db):
    with pytest.raises(FunnelError, match="mode"):
        funnel(DAY, DAY, mode="sideways")
    with pytest.raises(FunnelError, match="breakdown"):
        funnel(DAY, DAY, by="colour")
    with pytest.raises(FunnelError, match="ends before"):
        funnel(DAY, DAY - timedelta(days=1))


def test_a_long_backfill_stops_at_its_time_budget_and_the_next_run_goes_on(shop_day):
    now = at(DAY + timedelta(days=2))
    assert rollup_job(now=now, chunk_days=1, budget_seconds=0).startswith("0 of 5 days")
    assert RollupDay.objects.filter(final=True).count() == 0
    assert rollup_job(now=now, chunk_days=1) == f"5 days rolled up, {FunnelDay.objects.count()} rows"
    assert RollupDay.objects.filter(final=True).count() == 5  # V4's old landing day to the day before today


def _summed(rows):
    totals = {}
    for row in rows:
        key = tuple(row[:8])
        totals[key] = totals.get(key, 0) + row[8]
    return totals


@pytest.mark.skipif(not funnel_module.sql_rollup(), reason="the SQL rollup runs on PostgreSQL only")
def test_the_python_rollup_gives_the_same_rows_as_the_postgresql_sql(shop_day):
    """SQLite (and any other database) computes the rollup rows in Python: the same rows as PostgreSQL's SQL."""
    JourneyEvent.objects.bulk_create([
        event(Kind.CAMPAIGN_LANDING, "late", at(hour=23, minute=45), source="google", medium="organic"),
        event(Kind.PRODUCT_VIEW, "late", at(DAY + timedelta(days=1), hour=0, minute=15),
              product_id=shop_day["milk"].pk),
    ])
    first, last = DAY - timedelta(days=3), DAY + timedelta(days=1)
    sql_rows = funnel_module.live_rows(first, last)
    python_rows = funnel_module.python_rows(first, last)
    assert _summed(python_rows) == _summed(sql_rows)
    assert len(_summed(sql_rows)) > 10


@pytest.mark.parametrize(("first_day", "evening"), [
    (date(2025, 3, 8), date(2025, 3, 9)),  # clocks go forward on 9 March in New York: a 23-hour day
    (date(2025, 11, 1), date(2025, 11, 2)),  # and back on 2 November: a 25-hour day
])
def test_visits_fall_on_their_store_day_across_a_daylight_saving_change(db, first_day, evening):
    assert str(store_time_zone()) == "America/New_York"
    JourneyEvent.objects.bulk_create([
        event(Kind.CAMPAIGN_LANDING, "a", at(first_day, hour=23, minute=30), source="google"),
        event(Kind.CAMPAIGN_LANDING, "b", at(evening, hour=0, minute=30), source="google"),
        event(Kind.CAMPAIGN_LANDING, "c", at(evening, hour=23, minute=30), source="google"),
        event(Kind.CAMPAIGN_LANDING, "d", at(evening + timedelta(days=1), hour=0, minute=30), source="google"),
    ])
    assert funnel(first_day, first_day).visits == 1
    assert funnel(evening, evening).visits == 2
    assert funnel(evening + timedelta(days=1), evening + timedelta(days=1)).visits == 1
    daily = funnel(first_day, evening + timedelta(days=1)).daily["attract"]
    assert daily == [(first_day, 1), (evening, 2), (evening + timedelta(days=1), 1)]
    rollup_job(now=at(evening + timedelta(days=3)))
    stored = funnel(first_day, evening + timedelta(days=1))
    assert stored.live_days == 0
    assert stored.daily["attract"] == daily


def test_the_rollup_across_a_month_boundary_gives_the_live_numbers(db):
    """On PostgreSQL the events of February and March live in two partitions (and a landing carried from the
    previous month is looked up in the other one): the rolled-up days give exactly the live numbers."""
    from journey.core import partitions

    feb, mar = date(2025, 2, 27), date(2025, 3, 2)
    partitions.ensure_partitions(now=at(mar), since=at(feb))  # a no-op on SQLite
    google = {"source": "google", "medium": "organic"}
    JourneyEvent.objects.bulk_create([
        event(Kind.CAMPAIGN_LANDING, "x", at(feb, hour=10), device="mobile", **google),
        event(Kind.PRODUCT_VIEW, "x", at(feb + timedelta(days=1), hour=23, minute=50), device="mobile"),
        event(Kind.PRODUCT_VIEW, "x", at(mar - timedelta(days=1), hour=0, minute=10), device="mobile"),
        event(Kind.CAMPAIGN_LANDING, "y", at(mar - timedelta(days=1), hour=9), device="desktop", source="facebook",
              medium="cpc", campaign="spring"),
        event(Kind.BASKET_ADD, "y", at(mar - timedelta(days=1), hour=9, minute=5), device="desktop"),
        event(Kind.PRODUCT_VIEW, "z", at(mar, hour=8), device="tablet"),
    ])
    live = {by: funnel(feb, mar, by=by) for by in ("source", "campaign", "device")}
    rollup_job(now=at(mar + timedelta(days=2)))
    for by, result in live.items():
        stored = funnel(feb, mar, by=by)
        assert result.live_days == 4 and stored.live_days == 0
        assert visits(stored) == visits(result)
        assert [(r.value, r.visits) for r in stored.breakdown] == [(r.value, r.visits) for r in result.breakdown]
        assert stored.daily == result.daily
    assert live["source"].visits == 5 and live["source"].step("attract").visits == 4  # x carried on Feb 28, Mar 1
