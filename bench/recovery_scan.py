"""The abandoned-basket scan at scale: `journey.recovery.services.scan` over 100,000 and 1,000,000 tracked baskets.

Targets: with 1,000,000 BasketActivity rows of which 1 % are due, one scan takes <= 2 s on PostgreSQL; the candidate
query is an index scan on ``journey_activity_scan``; memory stays bounded (the peak RSS growth of a scan does not grow
with the table: 1M rows cost at most 1.5x + 16 MB what 100k rows cost).

Needs PostgreSQL (BENCH_POSTGRES_URL, or the server of a postgres DATABASE_URL, or postgres@127.0.0.1:5432).  It
creates the database ``journey_bench_scan``, migrates it, bulk-loads rows with ``INSERT … SELECT generate_series`` and
drops it at the end (``--keep`` keeps it).  Each scan runs in a fresh child process, so its peak RSS is its own.

The data: basket i (1..N) has one activity row.  i % 100 == 0 (1 %) is due: 'active', last change 2-3 h ago, a guest
email (a third are signed-in customers), one basket line, so every due basket is eligible.  The other 99 %: 10 %
active and changed within the last 30 minutes (half with an email), 20 % in a running sequence, 40 % stopped (no
email), 25 % ordered, 4 % recovered — older rows, as a live shop accumulates them.
"""

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import time

DB_NAME = "journey_bench_scan"
SIZES = (100_000, 1_000_000)
TARGET_SECONDS = 2.0
INDEX = "journey_activity_scan"
INDEX_FROM = 100_000  # below this PostgreSQL rightly prefers a sequential scan: the index is not required there

ROWS_SQL = """
CREATE TEMP TABLE bench_rows ON COMMIT DROP AS
SELECT i, i %% 100 AS k,
       CASE WHEN i %% 100 = 0 THEN %(now)s - interval '2 hours' - (i %% 3600) * interval '1 second'
            WHEN i %% 100 <= 10 THEN %(now)s - (i %% 1800) * interval '1 second'
            WHEN i %% 100 <= 30 THEN %(now)s - interval '1 day' - (i %% 172800) * interval '1 second'
            ELSE %(now)s - interval '3 days' - (i %% 5184000) * interval '1 second' END AS at,
       CASE WHEN i %% 100 <= 10 THEN 'active' WHEN i %% 100 <= 30 THEN 'in_sequence'
            WHEN i %% 100 <= 70 THEN 'stopped' WHEN i %% 100 <= 95 THEN 'ordered' ELSE 'recovered' END AS state,
       CASE WHEN i %% 100 = 0 THEN 'due' || i || '@example.com'
            WHEN i %% 100 <= 10 AND i %% 2 = 1 THEN ''
            WHEN i %% 100 BETWEEN 31 AND 70 THEN ''
            ELSE 'shopper' || i || '@example.com' END AS email,
       CASE WHEN i %% 300 = 0 THEN i END AS user_id
FROM generate_series(%(start)s, %(end)s) AS i
"""
LOAD_SQL = [
    """INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                              date_joined)
       SELECT user_id, '!', false, 'bench' || user_id, '', '', email, false, true, at - interval '30 days'
       FROM bench_rows WHERE user_id IS NOT NULL""",
    """INSERT INTO basket_basket (id, status, date_created, date_submitted, owner_id)
       SELECT i, CASE WHEN state IN ('ordered', 'recovered') THEN 'Submitted' ELSE 'Open' END,
              at - interval '10 minutes',
              CASE WHEN state IN ('ordered', 'recovered') THEN at + interval '5 minutes' END, user_id
       FROM bench_rows""",
    """INSERT INTO basket_line (line_reference, quantity, price_currency, price_excl_tax, price_incl_tax, date_created,
                                date_updated, basket_id, product_id, stockrecord_id)
       SELECT %(line_reference)s, 2, 'USD', 4.99, 4.99, at, at, i, %(product_id)s, %(stockrecord_id)s
       FROM bench_rows WHERE k = 0""",
    """INSERT INTO journey_basketactivity (
           basket_id, user_id, email, email_source, email_captured_at, consent, consent_text, language,
           last_activity_at, state, cycle, sequence_anchor_at, sequence_started_at, stop_reason, order_number,
           ordered_at, recovered_revenue, created_at, updated_at)
       SELECT i, user_id, email,
              CASE WHEN email = '' THEN '' WHEN user_id IS NOT NULL THEN 'account' ELSE 'checkout' END,
              CASE WHEN email <> '' THEN at END, false, '', '',
              at, state, CASE WHEN state <> 'active' AND email <> '' THEN 1 ELSE 0 END,
              CASE WHEN state <> 'active' AND email <> '' THEN at END,
              CASE WHEN state <> 'active' AND email <> '' THEN at + interval '1 hour' END,
              CASE WHEN state = 'stopped' THEN 'no email known' ELSE '' END,
              CASE WHEN state IN ('ordered', 'recovered') THEN 'B' || i ELSE '' END,
              CASE WHEN state IN ('ordered', 'recovered') THEN at + interval '5 minutes' END,
              CASE WHEN state = 'recovered' THEN 42.50 END,
              at - interval '10 minutes', at
       FROM bench_rows""",
]
RESET_SQL = [
    "DELETE FROM journey_message",
    """UPDATE journey_basketactivity SET state = 'active', cycle = 0, sequence_anchor_at = NULL,
           sequence_started_at = NULL, stop_reason = '' WHERE email LIKE %s""",
]


# Child: one scan process --------------------------------------------------------------------------------------
def classify(sql):
    """Which stage of the scan a query belongs to."""
    from bench.common import main_table

    verb = sql.lstrip()[:6].upper()
    table = main_table(sql)
    if verb == "SELECT":
        if table == "journey_basketactivity":
            return "candidates (SELECT … FOR UPDATE SKIP LOCKED)" if "FOR UPDATE" in sql else "cooldown lookup"
        return {"basket_basket": "baskets (status)", "basket_line": "lines (count, total)",
                "auth_user": "staff users", "journey_suppression": "suppression list", "order_order": "orders since",
                "journey_recoverystep": "recovery steps"}.get(table, f"SELECT {table}")
    if verb == "INSERT" and table == "journey_message":
        return "INSERT messages (bulk_create)"
    if verb == "UPDATE" and table == "journey_message":
        return "cancel old cycle's messages"
    if verb == "UPDATE" and table == "journey_basketactivity":
        if re.search(r'WHERE "journey_basketactivity"\."id" = ', sql):
            return "UPDATE activity -> in_sequence (one per basket)"
        return "UPDATE activity -> stopped (one per reason)"
    return f"{verb} {table}"


def child(url, instrument):
    from bench.common import QueryTimer, peak_rss_mb, rss_mb, use_database

    use_database(url)
    from django.db import connection
    from django.utils import timezone

    from journey.recovery import services
    from journey.recovery.models import RecoveryStep

    # Warm up imports, the connection and the query compiler so that what follows is the scan's own cost.
    list(RecoveryStep.objects.all())
    services._batch_reasons([], timezone.now())
    gc.collect()
    rss_before, peak_before = rss_mb(), peak_rss_mb()
    stages = QueryTimer(classify)
    with connection.execute_wrapper(stages) if instrument else _nothing():
        started = time.perf_counter()
        first = services.scan()
        first_seconds = time.perf_counter() - started
    peak_after = peak_rss_mb()
    first_stages = {name: list(v) for name, v in stages.data.items()}
    started = time.perf_counter()
    second = services.scan()
    steady_seconds = time.perf_counter() - started
    return {"first_seconds": first_seconds, "started": first.started, "stopped": first.stopped,
            "scheduled": first.scheduled, "steady_seconds": steady_seconds, "steady_started": second.started,
            "rss_before": rss_before, "peak_before": peak_before, "peak_after": peak_after,
            "peak_growth": peak_after - rss_before, "stages": first_stages}


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def run_scan_child(url, instrument=False):
    from bench.common import ROOT

    args = [sys.executable, "-m", "bench.recovery_scan", "--child", url] + (["--instrument"] if instrument else [])
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"scan child failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# Parent: set-up, EXPLAIN, report -------------------------------------------------------------------------------
def make_product():
    import warnings
    from decimal import Decimal

    from oscar.core.loading import get_model

    ProductClass = get_model("catalogue", "ProductClass")
    Product = get_model("catalogue", "Product")
    Partner = get_model("partner", "Partner")
    StockRecord = get_model("partner", "StockRecord")
    warnings.filterwarnings("ignore", message="update is not implemented")  # haystack's simple backend on save
    product_class = ProductClass.objects.create(name="Bench", slug="bench", requires_shipping=True,
                                                track_stock=True)
    product = Product.objects.create(product_class=product_class, title="Bench bread", slug="bench-bread")
    partner = Partner.objects.create(name="Bench partner", code="bench")
    record = StockRecord.objects.create(product=product, partner=partner, partner_sku="BENCH-1",
                                        price=Decimal("4.99"), price_currency="USD", num_in_stock=10**6)
    return product.pk, record.pk


def load(start, end, product):
    """Bulk-load baskets start..end (ids = i) with their activity rows; returns seconds."""
    from django.db import connection, transaction
    from django.utils import timezone

    started = time.perf_counter()
    params = {"now": timezone.now(), "start": start, "end": end, "product_id": product[0],
              "stockrecord_id": product[1], "line_reference": f"{product[0]}_{product[1]}"}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(ROWS_SQL, params)
        for sql in LOAD_SQL:
            cursor.execute(sql, params)
    with connection.cursor() as cursor:
        for table in ("auth_user", "basket_basket"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608,E501
    vacuum()
    return time.perf_counter() - started


def vacuum():
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("journey_basketactivity", "journey_message", "basket_basket", "basket_line", "auth_user"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def reset():
    """Put the due rows back to 'active' and drop the scheduled mails, so the next scan has the same work."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(RESET_SQL[0])
        cursor.execute(RESET_SQL[1], ["due%"])
    vacuum()


def explain():
    """EXPLAIN (ANALYZE, BUFFERS) of the scan's candidate query, as the scan runs it (in a transaction, rolled back)."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from journey.conf import journey_settings
    from journey.recovery.models import BasketActivity
    from journey.recovery.services import SCAN_BATCH

    cutoff = timezone.now() - timedelta(minutes=journey_settings.RECOVERY_ABANDON_AFTER_MINUTES)
    with transaction.atomic():
        queryset = (BasketActivity.objects.select_for_update(skip_locked=True)
                    .filter(state=BasketActivity.State.ACTIVE, last_activity_at__lte=cutoff)
                    .order_by("last_activity_at", "id")[:SCAN_BATCH])
        plan = queryset.explain(analyze=True, buffers=True)
        transaction.set_rollback(True)
    ms = re.search(r"Execution Time: ([\d.]+) ms", plan)
    uses_index = INDEX in plan and "Seq Scan" not in plan
    return plan, float(ms[1]) if ms else float("nan"), uses_index


def count_due():
    from datetime import timedelta

    from django.utils import timezone

    from journey.conf import journey_settings
    from journey.recovery.models import BasketActivity

    cutoff = timezone.now() - timedelta(minutes=journey_settings.RECOVERY_ABANDON_AFTER_MINUTES)
    return BasketActivity.objects.filter(state=BasketActivity.State.ACTIVE, last_activity_at__lte=cutoff).count()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", metavar="DATABASE_URL")
    parser.add_argument("--instrument", action="store_true")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB_NAME} afterwards")
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES),
                        help="comma-separated table sizes, ascending (default %(default)s)")
    args, _unknown = parser.parse_known_args()  # bench/run.py passes every script the same arguments
    if args.child:
        print(json.dumps(child(args.child, args.instrument)))
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

    sizes = [2_000] if smoke() else [int(s) for s in args.sizes.split(",")]
    problem = postgres_available()
    if problem:
        print(f"\nRecovery scan: SKIPPED (needs PostgreSQL: {problem})")
        return
    load_before = machine_load()
    bench_started = time.perf_counter()
    started = time.perf_counter()
    url = create_database(DB_NAME)
    setup = {"create + migrate": time.perf_counter() - started}
    try:
        use_database(url)
        product = make_product()
        results, loaded, first_plan = [], 0, None
        for size in sizes:
            if loaded:
                reset()
            setup[f"load {loaded + 1:,}..{size:,}"] = load(loaded + 1, size, product)
            loaded = size
            due = count_due()
            plan, plan_ms, uses_index = explain()
            plain = run_scan_child(url)
            reset()
            instrumented = run_scan_child(url, instrument=True)
            _steady_plan, steady_plan_ms, steady_index = explain()
            results.append({"size": size, "due": due, "plan": plan, "plan_ms": plan_ms,
                            "steady_plan_ms": steady_plan_ms, "uses_index": uses_index and steady_index,
                            "plain": plain, "instrumented": instrumented})
            first_plan = plan
    finally:
        if not args.keep:
            drop_database(DB_NAME)
    report(results, setup, first_plan, time.perf_counter() - bench_started, table, verdict)
    print(f"Machine: {load_before} before, {os.getloadavg()[0]:.1f} after")


def report(results, setup, plan, total, table, verdict):
    smallest = results[0]["plain"]["peak_growth"]
    rows = []
    for r in results:
        plain = r["plain"]
        bounded = plain["peak_growth"] <= smallest * 1.5 + 16
        index_ok = r["uses_index"] or r["size"] < INDEX_FROM
        ok = plain["first_seconds"] <= TARGET_SECONDS and plain["steady_seconds"] <= TARGET_SECONDS and \
            index_ok and bounded
        rows.append([f"{r['size']:,}", f"{r['due']:,}", f"{plain['first_seconds']:.2f}",
                     f"{r['instrumented']['first_seconds']:.2f}", f"{plain['started']:,}",
                     f"{plain['scheduled']:,}", f"{plain['steady_seconds'] * 1000:.1f}",
                     f"{r['plan_ms']:.1f} / {r['steady_plan_ms']:.1f}",
                     "yes" if r["uses_index"] else ("no (fine)" if index_ok else "NO"),
                     f"{plain['peak_growth']:.1f}", verdict(ok)])
    print(f"\nAbandoned-basket scan (PostgreSQL; targets: 1M rows with 1 % due -> one scan <= {TARGET_SECONDS:g} s, "
          f"candidate query on {INDEX}, peak RSS growth not growing with the table)")
    print(table(["tracked baskets", "due", "first scan (s)", "again, instrumented (s)", "sequences started",
                 "mails scheduled", "steady scan (ms)", "candidate query ms (due / steady)", f"uses {INDEX}",
                 "peak RSS growth (MB)", "target"], rows))
    last = results[-1]
    stages = last["instrumented"]["stages"]
    scan_seconds = last["instrumented"]["first_seconds"]
    sql_seconds = sum(v[1] for v in stages.values())
    stage_rows = [[name, f"{n:,}", f"{seconds * 1000:.0f}", f"{seconds / scan_seconds:.0%}"]
                  for name, (n, seconds) in sorted(stages.items(), key=lambda kv: -kv[1][1])]
    python_seconds = scan_seconds - sql_seconds
    stage_rows.append(["Python (Django ORM, eligibility, building messages)", "", f"{python_seconds * 1000:.0f}",
                       f"{python_seconds / scan_seconds:.0%}"])
    print(f"\nWhere the first scan over {last['size']:,} rows ({last['due']:,} due) spends its "
          f"{scan_seconds:.2f} s (execute_wrapper timings)")
    print(table(["stage", "queries", "ms", "share"], stage_rows))
    print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the candidate query, {last['size']:,} rows, {last['due']:,} due:")
    print("\n".join("  " + line for line in plan.splitlines()))
    print("\nSet-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in setup.items()) + f"; whole bench {total:.0f} s")


if __name__ == "__main__":
    main()
