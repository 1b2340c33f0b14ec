"""The funnel over 10,000,000 journey events, and the journey map page on the full demo data.

Targets: on PostgreSQL, ``journey.insights.funnel.funnel`` over 10M events answers in <= 2 s for 30, 90 and 365 days
(whole shop, by source, one category, one product), with the ended days read from the rollup and today computed
live; the journey map page renders in <= 500 ms on the full demo data (``journey_demo_full``: ~140k orders, a
30-day period) and on the 10M-event database.

The events database ``journey_bench_funnel`` is created, migrated, filled with ``INSERT … SELECT generate_series``
and dropped at the end (``--keep`` keeps it).  The data: ~2.9M visits over the last 365 days by 1.5M visitors (some
come back), each with a landing (60 %: google/organic, facebook/cpc, newsletter/email with campaigns, tools
"campaigns" for campaign links), 1-4 product views over 2,000 products in 40 categories, an add to basket (10 %),
a checkout start (4 %), an order (2 %, 50,000 customers so some order again) and a related-list or mail click (5 %).

The map page on ``journey_demo_full`` runs in a child process inside one transaction that creates the insights
tables (not migrated there) and is rolled back: nothing is left in the demo database.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta

DB_NAME = "journey_bench_funnel"
DEMO_DB = "journey_demo_full"
VISITS = 2_950_000
FUNNEL_TARGET = 2.0
PAGE_TARGET = 0.5
REPEATS = 3

SETUP_SQL = [
    """INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                              date_joined)
       SELECT i, '!', false, 'c' || i, '', '', 'c' || i || '@example.com', false, true, now() - interval '400 days'
       FROM generate_series(1, 50000) i""",
    "SELECT setseed(0.42)",
    """CREATE TEMP TABLE bench_visits AS
       SELECT i, 'v' || (i %% 1500000) AS visitor,
              %(now)s - (random() * 365 * 86400) * interval '1 second' AS at,
              random() AS r, (1 + floor(random() * %(products)s))::bigint AS product_offset,
              CASE WHEN random() < 0.7 THEN 'mobile' WHEN random() < 0.8 THEN 'desktop' ELSE 'tablet' END AS device
       FROM generate_series(1, %(visits)s) i""",
    """INSERT INTO order_order (id, number, currency, total_incl_tax, total_excl_tax, shipping_incl_tax,
                                shipping_excl_tax, shipping_method, shipping_code, status, guest_email, date_placed,
                                user_id, analytics_tracked)
       SELECT i, 'B' || i, 'USD', 20 + (i %% 80), 20 + (i %% 80), 0, 0, 'Free', 'free', 'Complete', '',
              at + interval '20 minutes', 1 + (i %% 50000), true
       FROM bench_visits WHERE r < 0.02""",
    """INSERT INTO journey_journeyevent (created_at, kind, phase, tool, visitor_id, device, source, medium, campaign,
                                         user_id, product_id, basket_id, order_id, value, ref, data)
       SELECT v.at + s * interval '2 minutes',
              CASE WHEN s = 1 THEN 'landing' WHEN s <= 5 THEN 'product_view' WHEN s = 6 THEN 'basket_add'
                   WHEN s = 7 THEN 'checkout_start' WHEN s = 8 THEN 'order_placed'
                   WHEN v.i %% 2 = 0 THEN 'related_click' ELSE 'mail_clicked' END,
              '',
              CASE WHEN s = 1 AND v.i %% 10 = 0 THEN 'campaigns' WHEN s = 9 AND v.i %% 2 = 0 THEN 'related'
                   WHEN s = 9 THEN 'recovery' ELSE '' END,
              v.visitor, v.device,
              CASE WHEN s <> 1 THEN '' WHEN v.i %% 10 = 0 THEN 'newsletter' WHEN v.i %% 3 = 0 THEN 'facebook'
                   ELSE 'google' END,
              CASE WHEN s <> 1 THEN '' WHEN v.i %% 10 = 0 THEN 'email' WHEN v.i %% 3 = 0 THEN 'cpc'
                   ELSE 'organic' END,
              CASE WHEN s = 1 AND v.i %% 10 = 0 THEN 'spring-' || (v.i %% 12) ELSE '' END,
              CASE WHEN s >= 7 AND v.r < 0.02 THEN 1 + (v.i %% 50000) END,
              CASE WHEN s BETWEEN 2 AND 6 THEN %(first_product)s + (v.product_offset + s) %% %(products)s END,
              NULL,
              CASE WHEN s = 8 THEN v.i END,
              CASE WHEN s = 8 THEN 20 + (v.i %% 80) END,
              CASE WHEN s = 1 AND v.i %% 10 = 0 THEN (v.i %% 12)::text ELSE '' END,
              '{}'::jsonb
       FROM bench_visits v CROSS JOIN generate_series(1, 9) s
       WHERE (s = 1 AND v.r < 0.6) OR s = 2 OR (s = 3 AND v.r < 0.8) OR (s = 4 AND v.r < 0.5)
          OR (s = 5 AND v.r < 0.3) OR (s = 6 AND v.r < 0.1) OR (s = 7 AND v.r < 0.04) OR (s = 8 AND v.r < 0.02)
          OR (s = 9 AND v.r < 0.05)""",
    "DROP TABLE bench_visits",
]


def make_catalogue(products=2000):
    """8 top-level categories with 5 subcategories each, 2,000 products spread over the 40 subcategories."""
    import warnings

    from oscar.core.loading import get_model

    warnings.filterwarnings("ignore", message="update is not implemented")
    Category = get_model("catalogue", "Category")
    Product = get_model("catalogue", "Product")
    ProductClass = get_model("catalogue", "ProductClass")
    ProductCategory = get_model("catalogue", "ProductCategory")
    product_class = ProductClass.objects.create(name="Bench", slug="bench")
    leaves = []
    for r in range(8):
        root = Category.add_root(name=f"Department {r}")
        leaves += [root.add_child(name=f"Aisle {r}.{c}") for c in range(5)]
    created = Product.objects.bulk_create([Product(product_class=product_class, title=f"Product {i}",
                                                   slug=f"product-{i}", structure="standalone")
                                           for i in range(products)])
    ProductCategory.objects.bulk_create([ProductCategory(product=p, category=leaves[i % len(leaves)])
                                         for i, p in enumerate(created)])
    return min(p.pk for p in created), products, leaves[0].get_parent().pk, created[0].pk


def load(now, first_product, products):
    from django.db import connection, transaction

    started = time.perf_counter()
    params = {"now": now, "visits": VISITS, "products": products, "first_product": first_product}
    from journey.core import partitions

    # PostgreSQL's events table is partitioned by month: the year's months first (else all would land in DEFAULT).
    partitions.ensure_partitions(now=now, since=now - timedelta(days=366))
    with transaction.atomic(), connection.cursor() as cursor:
        # Loading 10M rows into an indexed table is several times slower than indexing them afterwards.
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'journey_journeyevent' "
                       "AND indexname NOT LIKE '%%pkey'")
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for sql in SETUP_SQL:
            cursor.execute(sql, params)
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:  # a partitioned index: on the parent and every partition
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
    with connection.cursor() as cursor:
        for table in ("auth_user", "order_order"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608,E501
        cursor.execute("VACUUM ANALYZE journey_journeyevent")
        cursor.execute("VACUUM ANALYZE order_order")
        cursor.execute("SELECT count(*) FROM journey_journeyevent")
        count = cursor.fetchone()[0]
    return count, time.perf_counter() - started


def timed(func, repeats=REPEATS):
    samples, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = func()
        samples.append(time.perf_counter() - started)
    return sorted(samples)[len(samples) // 2], result


def page_time(start=None, end=None, period=None, repeats=REPEATS):
    """Median seconds to render the journey map page (the admin view, rendered), as a superuser."""
    from django.contrib.admin.sites import site
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    from journey.models import JourneyMap

    # Saved (the admin's recent-actions box filters by it); the demo child rolls it back with everything else.
    user, _created = get_user_model().objects.get_or_create(
        username="journey-bench", defaults={"is_staff": True, "is_superuser": True, "is_active": True})
    params = {"start": start.isoformat(), "end": end.isoformat()} if start else {"period": period or "30"}
    model_admin = site._registry[JourneyMap]

    def render():
        request = RequestFactory().get("/admin/journey/journeymap/", params)
        request.user = user
        response = model_admin.changelist_view(request)
        response.render()
        assert response.status_code == 200, response.status_code
        return len(response.content)

    render()  # warm up imports and templates
    return timed(render, repeats)


def demo_child(url):
    """The map page on the demo data, inside a transaction (insights tables created, then rolled back)."""
    from bench.common import use_database

    use_database(url)
    from django.db import connection, transaction

    from journey.insights.models import FunnelDay, LaneNote, Persona, RollupDay, ToolDay
    from journey.models import JourneyEvent

    out = {}
    from oscar.core.loading import get_model

    Order = get_model("order", "Order")
    last = Order.objects.order_by("-date_placed").values_list("date_placed", flat=True).first()
    with transaction.atomic():
        with connection.schema_editor() as editor:
            for model in (RollupDay, FunnelDay, ToolDay, Persona, LaneNote):
                if model._meta.db_table not in connection.introspection.table_names():
                    editor.create_model(model)
        out["events"] = JourneyEvent.objects.count()
        end = last.date() - timedelta(days=1)
        out["orders_30"] = Order.objects.filter(date_placed__date__gte=end - timedelta(days=29),
                                                date_placed__date__lte=end).count()
        out["page_30"], _ = page_time(end - timedelta(days=29), end)
        out["page_365"], _ = page_time(end - timedelta(days=364), end, repeats=1)
        transaction.set_rollback(True)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB_NAME} afterwards")
    parser.add_argument("--demo-child", metavar="DATABASE_URL")
    parser.add_argument("--skip-demo", action="store_true", help="leave out the page on journey_demo_full")
    args, _unknown = parser.parse_known_args()
    global VISITS, DEMO_DB
    from bench.common import smoke

    if smoke():  # bench/run.py --smoke: runs end to end; the "demo" page on the smoke database's tiny demo
        VISITS = 3_000
        DEMO_DB = os.environ.get("BENCH_SMOKE_DB", DEMO_DB)
    if args.demo_child:
        print(json.dumps(demo_child(args.demo_child)))
        return

    from bench.common import (
        ROOT,
        create_database,
        drop_database,
        machine_load,
        postgres_available,
        postgres_url,
        table,
        use_database,
        verdict,
    )

    problem = postgres_available()
    if problem:
        print(f"\nFunnel: SKIPPED (needs PostgreSQL: {problem})")
        return
    load_before = machine_load()
    setup = {}
    started = time.perf_counter()
    url = create_database(DB_NAME)
    setup["create + migrate"] = time.perf_counter() - started
    rows, plans = [], {}
    try:
        use_database(url)
        from django.db import connection
        from django.db.models import Sum
        from django.utils import timezone

        from journey.insights import funnel as funnel_module
        from journey.insights.funnel import funnel
        from journey.insights.models import FunnelDay

        now = timezone.now()
        first_product, products, category_id, product_id = make_catalogue()
        count, seconds = load(now, first_product, products)
        setup[f"load {count:,} events"] = seconds
        started = time.perf_counter()
        summary = funnel_module.rollup_job(now=now, budget_seconds=10**6)
        setup[f"rollup job ({summary})"] = time.perf_counter() - started
        started = time.perf_counter()
        again = funnel_module.rollup_job(now=now)
        setup[f"rollup job again ({again})"] = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE journey_funnelday")
        today = now.astimezone(funnel_module.store_tz()).date()
        cases = [
            ("whole shop, 30 days", {"start": today - timedelta(days=29)}),
            ("whole shop, 90 days", {"start": today - timedelta(days=89)}),
            ("whole shop, 365 days", {"start": today - timedelta(days=364)}),
            ("by source, 365 days", {"start": today - timedelta(days=364), "by": "source"}),
            ("by campaign, 90 days", {"start": today - timedelta(days=89), "by": "campaign"}),
            ("by category, 365 days", {"start": today - timedelta(days=364), "by": "category"}),
            ("one category, 365 days", {"start": today - timedelta(days=364), "category": category_id}),
            ("one product, 30 days", {"start": today - timedelta(days=29), "product": product_id}),
            ("today only (live)", {"start": today}),
        ]
        for label, kwargs in cases:
            start = kwargs.pop("start")
            seconds, result = timed(lambda start=start, kwargs=kwargs: funnel(start, today, **kwargs))
            rows.append([label, f"{result.visits:,}", " → ".join(f"{s.visits:,}" for s in result.steps),
                         result.live_days, f"{seconds * 1000:.0f}", verdict(seconds <= FUNNEL_TARGET)])
        stored = FunnelDay.objects.filter(scope="shop", scope_id=0, day__gte=today - timedelta(days=364))
        plans["stored"] = stored.values("source", "mask").annotate(n=Sum("visits")).order_by().explain(analyze=True)
        params = funnel_module.rollup_params(today, today)
        params.update(scope="shop", scope_id=0)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + funnel_module.rollup_sql(
                "scope = %(scope)s AND scope_id = %(scope_id)s"), params)
            plans["live"] = "\n".join(r[0] for r in cursor.fetchall())
            cursor.execute("SELECT count(*) FROM journey_funnelday")
            setup["rollup rows"] = cursor.fetchone()[0]
        page_seconds, _ = page_time(today - timedelta(days=29), today)
        page_rows = [["10M-event database, 30 days", f"{page_seconds * 1000:.0f}",
                      verdict(page_seconds <= PAGE_TARGET)]]
    finally:
        if not args.keep:
            drop_database(DB_NAME)
    if not args.skip_demo:
        demo_url = postgres_url(DEMO_DB)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "DEBUG": "false"}
        result = subprocess.run([sys.executable, "-m", "bench.funnel", "--demo-child", demo_url], cwd=ROOT,
                                capture_output=True, text=True, env=env)
        if result.returncode != 0:
            page_rows.append([f"{DEMO_DB}: failed ({result.stderr.strip().splitlines()[-1:]})", "", "MISSED"])
        else:
            demo = json.loads(result.stdout.strip().splitlines()[-1])
            page_rows.append([f"{DEMO_DB}, 30 days ({demo['orders_30']:,} orders, {demo['events']:,} events)",
                              f"{demo['page_30'] * 1000:.0f}", verdict(demo["page_30"] <= PAGE_TARGET)])
            page_rows.append([f"{DEMO_DB}, 365 days (for information)", f"{demo['page_365'] * 1000:.0f}", "—"])

    print(f"\nFunnel over {count:,} events (PostgreSQL; target <= {FUNNEL_TARGET:g} s each, median of {REPEATS})")
    print(table(["funnel", "visits", "steps (closed)", "live days", "ms", "target"], rows))
    print(f"\nJourney map page (admin view rendered; target <= {PAGE_TARGET * 1000:.0f} ms, median of {REPEATS})")
    print(table(["data", "ms", "target"], page_rows))
    print("\nEXPLAIN ANALYZE: rolled-up days, whole shop by source, 365 days")
    print("\n".join("  " + line for line in plans["stored"].splitlines()))
    print("\nEXPLAIN ANALYZE: today computed live from the events")
    print("\n".join("  " + line for line in plans["live"].splitlines()))
    print("\nSet-up: " + ", ".join(f"{k} {v:.1f} s" if isinstance(v, float) else f"{k} {v:,}"
                                   for k, v in setup.items()))
    print(f"Machine: {load_before} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
