"""The browse-abandonment scan at scale: `journey.browse.services.scan` over 10,000,000 journey events of
1,000,000 people (and over 1,000,000 events of 100,000 people, to see how it grows).

Targets: one scan over 10M events / 1M people takes <= 5 s on PostgreSQL (the first, scheduling every reminder due,
and a steady one with nothing new); the candidate statement reads the events through their indexes
(``journey_event_when_kind`` for the window, ``journey_event_user`` for the per-person checks: no sequential scan of
the events table); memory stays bounded (peak RSS growth of the 10M scan <= 1.5x + 16 MB that of the 1M scan).

Needs PostgreSQL (BENCH_POSTGRES_URL, or the server of a postgres DATABASE_URL, or postgres@127.0.0.1:5432).  It
creates the database ``journey_bench_browse``, migrates it, bulk-loads rows with ``INSERT … SELECT generate_series``
(then ``VACUUM ANALYZE``) and drops it at the end (``--keep`` keeps it).  Each scan runs in a fresh child process.

The data: people 1..P are user accounts.  Events 1..E spread evenly over the last 60 days (a shop keeping two
months of events): 30 % anonymous, of the rest 80 % product views, 10 % basket additions, 10 % landings, products
1..2,000 in 50 categories.  Every 100th person also viewed one product twice three hours ago (due: the default
program waits two hours and looks 48 hours back) — some of them added something or kept browsing in the random
events, so the scan itself decides how many get a reminder.
"""

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import time

DB_NAME = "journey_bench_browse"
SIZES = ((1_000_000, 100_000), (10_000_000, 1_000_000))
SMOKE_SIZES = ((20_000, 2_000),)
TARGET_SECONDS = 5.0
PRODUCTS, CATEGORIES = 2_000, 50
SPREAD_SECONDS = 60 * 86400

EVENTS_SQL = """
INSERT INTO journey_journeyevent (created_at, kind, phase, tool, visitor_id, device, source, medium, campaign,
                                  user_id, product_id, basket_id, order_id, value, ref, data)
SELECT %(now)s - ((i * 104729) %% %(spread)s) * interval '1 second',
       CASE WHEN i %% 10 < 8 THEN 'product_view' WHEN i %% 10 = 8 THEN 'basket_add' ELSE 'landing' END,
       CASE WHEN i %% 10 < 8 THEN 'convince' WHEN i %% 10 = 8 THEN 'sell' ELSE 'attract' END,
       '', 'v' || ((i * 7919) %% %(people)s + 1), 'desktop', '', '', '',
       CASE WHEN (i / 10) %% 10 < 3 THEN NULL ELSE (i * 7919) %% %(people)s + 1 END,
       CASE WHEN i %% 10 < 9 THEN (i * 31) %% %(products)s + %(first_product)s END,
       NULL, NULL, NULL, '', '{}'::jsonb
FROM generate_series(%(start)s::bigint, %(end)s::bigint) AS i
"""
DUE_SQL = """
INSERT INTO journey_journeyevent (created_at, kind, phase, tool, visitor_id, device, source, medium, campaign,
                                  user_id, product_id, basket_id, order_id, value, ref, data)
SELECT %(now)s - interval '3 hours' + r * interval '1 minute', 'product_view', 'convince', '', 'v' || u, 'desktop',
       '', '', '', u, u %% %(products)s + %(first_product)s, NULL, NULL, NULL, '', '{}'::jsonb
FROM generate_series(%(first_person)s, %(people)s) AS u, generate_series(0, 1) AS r
WHERE u %% 100 = 0
"""
USERS_SQL = """
INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                       date_joined)
SELECT u, '!', false, 'bench' || u, '', '', 'person' || u || '@example.com', false, true, %(now)s - interval '1 year'
FROM generate_series(%(first_person)s, %(people)s) AS u
"""


def classify(sql):
    from bench.common import main_table

    verb = sql.lstrip()[:6].upper()
    if sql.lstrip().upper().startswith("WITH"):
        return "candidates (one statement over the events)"
    if "pg_advisory_xact_lock" in sql:
        return "advisory lock"
    if verb == "INSERT" and "journey_message" in sql:
        return "INSERT reminders (outbox, one statement)"
    table = main_table(sql)
    return {"auth_user": "accounts", "journey_suppression": "suppression list",
            "journey_customerprofile": "consent and language (loyalty.api)",
            "journey_basketactivity": "running recovery sequences (recovery.api)",
            "journey_journeyevent": "viewed products of the chunk",
            "journey_message": "INSERT reminders (outbox)", "journey_browsereminder": "UPSERT BrowseReminder",
            "journey_browseprogram": "program"}.get(table, f"{verb} {table}")


def child(url, instrument, now_iso):
    from bench.common import QueryTimer, peak_rss_mb, rss_mb, use_database

    use_database(url)
    from django.db import connection
    from django.utils.dateparse import parse_datetime

    from journey.browse import services
    from journey.browse.models import BrowseProgram

    now = parse_datetime(now_iso)
    BrowseProgram.load()
    gc.collect()
    rss_before = rss_mb()
    stages = QueryTimer(classify)
    with connection.execute_wrapper(stages) if instrument else _nothing():
        started = time.perf_counter()
        first = services.scan(now)
        first_seconds = time.perf_counter() - started
    peak_after = peak_rss_mb()
    started = time.perf_counter()
    second = services.scan(now)
    steady_seconds = time.perf_counter() - started
    return {"first_seconds": first_seconds, "candidates": first.candidates, "scheduled": first.scheduled,
            "skipped": first.skipped, "steady_seconds": steady_seconds, "steady_scheduled": second.scheduled,
            "peak_growth": peak_after - rss_before, "stages": {k: list(v) for k, v in stages.data.items()}}


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def run_scan_child(url, now, instrument=False):
    from bench.common import ROOT

    args = [sys.executable, "-m", "bench.browse_scan", "--child", url, "--now", now.isoformat()]
    result = subprocess.run(args + (["--instrument"] if instrument else []), cwd=ROOT, capture_output=True,
                            text=True)
    if result.returncode != 0:
        sys.exit(f"scan child failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def make_catalogue():
    """2,000 public products in 50 categories (the category rule joins them); returns the first product id."""
    import warnings

    from oscar.core.loading import get_model

    warnings.filterwarnings("ignore", message="update is not implemented")
    ProductClass = get_model("catalogue", "ProductClass")
    Product = get_model("catalogue", "Product")
    Category = get_model("catalogue", "Category")
    ProductCategory = get_model("catalogue", "ProductCategory")
    product_class = ProductClass.objects.create(name="Bench", slug="bench", track_stock=False)
    products = Product.objects.bulk_create([
        Product(product_class=product_class, title=f"Bench product {n}", slug=f"bench-{n}", structure="standalone")
        for n in range(PRODUCTS)])
    categories = [Category.add_root(name=f"Bench category {n}", slug=f"bench-category-{n}")
                  for n in range(CATEGORIES)]
    ProductCategory.objects.bulk_create([ProductCategory(product=p, category=categories[n % CATEGORIES])
                                         for n, p in enumerate(products)])
    return min(p.pk for p in products)


def load(events, people, first_product, now):
    """Add events 1..E and people 1..P beyond what is loaded (ids continue); returns seconds."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM auth_user")
        first_person = cursor.fetchone()[0] + 1
        cursor.execute("SELECT COUNT(*) FROM journey_journeyevent")
        have = cursor.fetchone()[0]
    params = {"now": now, "spread": SPREAD_SECONDS, "people": people, "first_person": first_person,
              "products": PRODUCTS, "first_product": first_product}
    from journey.core.models import JourneyEvent

    indexes = JourneyEvent._meta.indexes
    with transaction.atomic(), connection.cursor() as cursor:
        # Random-order inserts into four B-trees are the slow part: drop the events' indexes, load, build them again
        # (one sort each), as a bulk load into a live table would be done.
        with connection.schema_editor(atomic=False) as editor:
            for index in indexes:
                editor.remove_index(JourneyEvent, index)
        cursor.execute(USERS_SQL, params)
        step = 2_000_000
        for start in range(have + 1, events + 1, step):  # in slices: bounded WAL and memory per statement
            cursor.execute(EVENTS_SQL, {**params, "start": start, "end": min(start + step - 1, events)})
        cursor.execute(DUE_SQL, params)
        with connection.schema_editor(atomic=False) as editor:
            for index in indexes:
                editor.add_index(JourneyEvent, index)
        cursor.execute("SELECT setval(pg_get_serial_sequence('auth_user', 'id'), (SELECT max(id) FROM auth_user))")
    vacuum()
    return time.perf_counter() - started


def vacuum():
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("journey_journeyevent", "auth_user", "journey_message", "journey_browsereminder"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def activate():
    from journey.browse.models import BrowseProgram

    program = BrowseProgram.load()
    program.is_active = True
    program.save()


def reset():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM journey_message")
        cursor.execute("DELETE FROM journey_browsereminder")
    vacuum()


def explain(now):
    from django.db import connection

    from journey.browse.models import BrowseProgram
    from journey.browse.services import candidates_sql

    sql, params = candidates_sql(BrowseProgram.load(), now)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    ms = re.search(r"Execution Time: ([\d.]+) ms", plan)
    seq_on_events = bool(re.search(r"Seq Scan on journey_journeyevent", plan))
    uses_index = "journey_event_when_kind" in plan and not seq_on_events
    return plan, float(ms[1]) if ms else float("nan"), uses_index


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", metavar="DATABASE_URL")
    parser.add_argument("--now")
    parser.add_argument("--instrument", action="store_true")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB_NAME} afterwards")
    args, _unknown = parser.parse_known_args()
    if args.child:
        print(json.dumps(child(args.child, args.instrument, args.now)))
        return

    from bench.common import (
        create_database,
        drop_database,
        machine_load,
        postgres_available,
        smoke,
        table,
        use_database,
        verdict,
    )

    sizes = SMOKE_SIZES if smoke() else SIZES
    problem = postgres_available()
    if problem:
        print(f"\nBrowse-abandonment scan: SKIPPED (needs PostgreSQL: {problem})")
        return
    load_before = machine_load()
    bench_started = time.perf_counter()
    started = time.perf_counter()
    url = create_database(DB_NAME)
    setup = {"create + migrate": time.perf_counter() - started}
    try:
        use_database(url)
        from django.utils import timezone

        now = timezone.now()
        first_product = make_catalogue()
        activate()
        results = []
        for events, people in sizes:
            setup[f"load {events:,} events / {people:,} people"] = load(events, people, first_product, now)
            plan, plan_ms, uses_index = explain(now)
            plain = run_scan_child(url, now)
            reset()
            instrumented = run_scan_child(url, now, instrument=True)
            reset()
            results.append({"events": events, "people": people, "plan": plan, "plan_ms": plan_ms,
                            "uses_index": uses_index, "plain": plain, "instrumented": instrumented})
    finally:
        if not args.keep:
            drop_database(DB_NAME)
    report(results, setup, time.perf_counter() - bench_started, table, verdict)
    print(f"Machine: {load_before} before, {os.getloadavg()[0]:.1f} after")


def report(results, setup, total, table, verdict):
    smallest = results[0]["plain"]["peak_growth"]
    rows = []
    for r in results:
        plain = r["plain"]
        bounded = plain["peak_growth"] <= smallest * 1.5 + 16
        ok = plain["first_seconds"] <= TARGET_SECONDS and plain["steady_seconds"] <= TARGET_SECONDS and \
            r["uses_index"] and bounded and plain["steady_scheduled"] == 0
        rows.append([f"{r['events']:,}", f"{r['people']:,}", f"{plain['candidates']:,}", f"{plain['scheduled']:,}",
                     f"{plain['first_seconds']:.2f}", f"{plain['steady_seconds']:.2f}",
                     f"{r['instrumented']['first_seconds']:.2f}", f"{r['plan_ms']:.0f}",
                     "yes" if r["uses_index"] else "NO", f"{plain['peak_growth']:.1f}", verdict(ok)])
    print(f"\nBrowse-abandonment scan (PostgreSQL; targets: 10M events / 1M people -> one scan <= "
          f"{TARGET_SECONDS:g} s, first and steady; events read through their indexes; peak RSS growth bounded)")
    print(table(["events", "people", "candidates", "reminders scheduled", "first scan (s)", "steady scan (s)",
                 "instrumented (s)", "candidate statement ms (EXPLAIN ANALYZE)", "events by index",
                 "peak RSS growth (MB)", "target"], rows))
    last = results[-1]
    stages = last["instrumented"]["stages"]
    seconds = last["instrumented"]["first_seconds"]
    sql_seconds = sum(v[1] for v in stages.values())
    stage_rows = [[name, f"{n:,}", f"{s * 1000:.0f}", f"{s / seconds:.0%}"]
                  for name, (n, s) in sorted(stages.items(), key=lambda kv: -kv[1][1])]
    stage_rows.append(["Python (checks, building messages)", "", f"{(seconds - sql_seconds) * 1000:.0f}",
                       f"{(seconds - sql_seconds) / seconds:.0%}"])
    print(f"\nWhere the first scan over {last['events']:,} events spends its {seconds:.2f} s")
    print(table(["stage", "queries", "ms", "share"], stage_rows))
    print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the candidate statement, {last['events']:,} events:")
    print("\n".join("  " + line for line in last["plan"].splitlines()))
    print("\nSet-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in setup.items()) + f"; whole bench {total:.0f} s")


if __name__ == "__main__":
    main()
