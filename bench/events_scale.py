"""Events at 100 M rows: the monthly partitions, the funnel and the journey map, retention by dropping a partition.

Targets (PostgreSQL): the funnel (whole shop, and by source) and the journey map page answer in <= 500 ms for 30 and 90
days on 100,000,000 events (365 days shown for information); the ended days come from the rollup
(``journey.insights.funnel.rollup``, run here for every day of the last 365 before timing), today is computed live
from the events, and the EXPLAIN output shows the live query reading only this month's partition.  Retention: dropping
the oldest month's partition against deleting rows (one day's rows deleted in batches, as on SQLite or in the boundary
month; the per-row rate extrapolated to a month).

The database ``journey_bench_events`` is created and migrated (the events table partitioned by 0018), filled month
by month with ``INSERT … SELECT generate_series`` straight into each partition (indexes dropped first and built again
afterwards, then ``ANALYZE``) and dropped at the end (``--keep`` keeps it).  ``--events N`` sets the size (default
100 M; develop with 10 M); ``--smoke`` uses 30,000 (and rolls up 35 days).
``--rollup-days N`` rolls up only the last N ended days (the rest is then computed live: slow, for information).
The data: visits spread over the last 13 months, ~3.4 events
a visit (landing 60 %, 1-4 product views over 2,000 products in 40 categories, basket 10 %, checkout 4 %, order 2 %,
a related or mail click 5 %), 1.5 M visitors, the same shape as bench/funnel.py.
"""

import argparse
import os
import time
from datetime import timedelta

DB_NAME = "journey_bench_events"
EVENTS = 100_000_000
MONTHS = 13
TARGET = 0.5
EVENTS_PER_VISIT = 3.41
VISITORS = 1_500_000

MONTH_SQL = """
INSERT INTO {partition} (id, created_at, kind, phase, tool, visitor_id, device, source, medium, campaign, user_id,
                         product_id, basket_id, order_id, value, ref, data)
SELECT nextval('journey_journeyevent_id_seq'), v.at + s * interval '2 minutes',
       CASE WHEN s = 1 THEN 'landing' WHEN s <= 5 THEN 'product_view' WHEN s = 6 THEN 'basket_add'
            WHEN s = 7 THEN 'checkout_start' WHEN s = 8 THEN 'order_placed'
            WHEN v.i % 2 = 0 THEN 'related_click' ELSE 'mail_clicked' END,
       '',
       CASE WHEN s = 1 AND v.i % 10 = 0 THEN 'campaigns' WHEN s = 9 AND v.i % 2 = 0 THEN 'related'
            WHEN s = 9 THEN 'recovery' ELSE '' END,
       'v' || (v.i % %(visitors)s), v.device,
       CASE WHEN s <> 1 THEN '' WHEN v.i % 10 = 0 THEN 'newsletter' WHEN v.i % 3 = 0 THEN 'facebook'
            ELSE 'google' END,
       CASE WHEN s <> 1 THEN '' WHEN v.i % 10 = 0 THEN 'email' WHEN v.i % 3 = 0 THEN 'cpc' ELSE 'organic' END,
       CASE WHEN s = 1 AND v.i % 10 = 0 THEN 'spring-' || (v.i % 12) ELSE '' END,
       NULL,
       CASE WHEN s BETWEEN 2 AND 6 THEN %(first_product)s + (v.product_offset + s) % %(products)s END,
       NULL,
       CASE WHEN s = 8 THEN v.i END,
       CASE WHEN s = 8 THEN 20 + (v.i % 80) END,
       CASE WHEN s = 1 AND v.i % 10 = 0 THEN (v.i % 12)::text ELSE '' END,
       '{{}}'::jsonb
FROM (SELECT i, %(start)s + random() * (%(end)s - %(start)s - interval '20 minutes') AS at, random() AS r,
             (1 + floor(random() * %(products)s))::bigint AS product_offset,
             CASE WHEN random() < 0.7 THEN 'mobile' WHEN random() < 0.8 THEN 'desktop' ELSE 'tablet' END AS device
      FROM generate_series(%(first)s, %(last)s) i) v
CROSS JOIN generate_series(1, 9) s
WHERE (s = 1 AND v.r < 0.6) OR s = 2 OR (s = 3 AND v.r < 0.8) OR (s = 4 AND v.r < 0.5)
   OR (s = 5 AND v.r < 0.3) OR (s = 6 AND v.r < 0.1) OR (s = 7 AND v.r < 0.04) OR (s = 8 AND v.r < 0.02)
   OR (s = 9 AND v.r < 0.05)
"""


def months(now, count):
    """(partition name, start, end) of the last ``count`` months up to now (this month ends now)."""
    from journey.core import partitions

    this_month = partitions.month_start(now)
    found = []
    for back in range(count - 1, -1, -1):
        start = partitions.add_months(this_month, -back)
        end = min(partitions.add_months(start, 1), now)
        found.append((partitions.partition_name(start), start, end))
    return found


def load(now, total, month_count, first_product, products):
    """Fill the partitions; returns (rows, seconds, index seconds)."""
    from django.db import connection

    from journey.core import partitions

    started = time.perf_counter()
    spans = months(now, month_count)
    partitions.ensure_partitions(now=now, since=spans[0][1])
    seconds_total = sum((end - start).total_seconds() for _name, start, end in spans)
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c "
                       "ON c.oid = i.indexrelid WHERE i.indrelid = 'journey_journeyevent'::regclass "
                       "AND NOT i.indisprimary")
        indexes = cursor.fetchall()
        for name, _definition in indexes:  # loading into indexed partitions is several times slower
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("ALTER TABLE journey_journeyevent DROP CONSTRAINT journey_journeyevent_pkey")
        cursor.execute("SET synchronous_commit = off")
        visit = 1
        for name, start, end in spans:
            visits = max(1, round(total / EVENTS_PER_VISIT * (end - start).total_seconds() / seconds_total))
            cursor.execute(MONTH_SQL.format(partition=f'"{name}"').replace("%", "%%").replace("%%(", "%("),
                           {"start": start, "end": end, "first": visit, "last": visit + visits - 1,
                            "visitors": VISITORS, "first_product": first_product, "products": products})
            visit += visits
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("ALTER TABLE journey_journeyevent ADD CONSTRAINT journey_journeyevent_pkey "
                       "PRIMARY KEY (id, created_at)")
        for _name, definition in indexes:  # a partitioned index: on the parent and every partition
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
        cursor.execute("ANALYZE journey_journeyevent")
        cursor.execute("SELECT count(*) FROM journey_journeyevent")
        rows = cursor.fetchone()[0]
    return rows, loaded, time.perf_counter() - started


def explain(sql, params=None, analyze=True):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(("EXPLAIN (ANALYZE, COSTS OFF) " if analyze else "EXPLAIN (COSTS OFF) ") + sql, params)
        return "\n".join("  " + row[0] for row in cursor.fetchall())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB_NAME} afterwards")
    parser.add_argument("--events", type=int, default=EVENTS, help="events to generate (default 100,000,000)")
    parser.add_argument("--rollup-days", type=int, default=365,
                        help="ended days rolled up before the timings (default 365; the older ones are read live)")
    args, _unknown = parser.parse_known_args()
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

    total = 30_000 if smoke() else args.events
    rollup_days = 35 if smoke() else args.rollup_days
    problem = postgres_available()
    if problem:
        print(f"\nEvents at scale: SKIPPED (needs PostgreSQL: {problem})")
        return
    load_before = machine_load()
    setup, rows, map_rows, retention_rows, plans = {}, [], [], [], {}
    started = time.perf_counter()
    url = create_database(DB_NAME)
    setup["create + migrate"] = time.perf_counter() - started
    try:
        use_database(url)
        from django.db import connection
        from django.utils import timezone

        from bench.funnel import make_catalogue, page_time, timed
        from journey.core import partitions, privacy
        from journey.core.models import JourneyEvent
        from journey.insights import funnel as funnel_module
        from journey.insights.funnel import funnel
        from journey.insights.models import FunnelDay

        now = timezone.now()
        first_product, products, _category, _product = make_catalogue()
        count, seconds, index_seconds = load(now, total, MONTHS, first_product, products)
        setup[f"load {count:,} events"] = seconds
        setup["indexes + ANALYZE"] = index_seconds
        tz = funnel_module.store_tz()
        today = now.astimezone(tz).date()
        started = time.perf_counter()
        written, last = 0, today - timedelta(days=1)
        first_rolled = today - timedelta(days=max(0, rollup_days))
        while last >= first_rolled:  # newest first, a week at a time (as the job does, in chunks)
            first = max(first_rolled, last - timedelta(days=6))
            written += funnel_module.rollup(first, last, now)
            last = first - timedelta(days=1)
        rollup_seconds = time.perf_counter() - started
        setup[f"rollup of {rollup_days} days ({written:,} rows)"] = rollup_seconds
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE journey_funnelday")
            cursor.execute("ANALYZE journey_toolday")
            cursor.execute("ANALYZE journey_rollupday")

        for days in (30, 90, 365):
            start = today - timedelta(days=days - 1)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM journey_journeyevent WHERE created_at >= %s",
                               [funnel_module.day_start(start)])
                in_period = cursor.fetchone()[0]
            for label, kwargs in (("whole shop", {}), ("by source", {"by": "source"})):
                seconds, result = timed(lambda start=start, kwargs=kwargs: funnel(start, today, **kwargs))
                rows.append([f"{label}, {days} days", f"{in_period:,}", f"{result.visits:,}", result.live_days,
                             f"{seconds * 1000:.0f}", verdict(seconds <= TARGET) if days <= 90 else "—"])
            seconds, _ = page_time(start, today)
            map_rows.append([f"{days} days", f"{seconds * 1000:.0f}",
                             verdict(seconds <= TARGET) if days <= 90 else "—"])

        start90 = today - timedelta(days=89)
        stored = FunnelDay.objects.filter(scope="shop", scope_id=0, day__gte=start90, day__lte=today)
        plans["stored"] = stored.values("source", "mask").order_by().explain(analyze=True)
        params = funnel_module.rollup_params(today, today)
        params.update(scope="shop", scope_id=0)
        plans["live"] = explain(funnel_module.rollup_sql("scope = %(scope)s AND scope_id = %(scope_id)s"), params,
                                analyze=True)
        plans["pruning"] = explain("SELECT count(*) FROM journey_journeyevent WHERE created_at >= %s "
                                   "AND created_at < %s", [funnel_module.day_start(start90),
                                                            funnel_module.day_start(today + timedelta(days=1))],
                                   analyze=False)

        # Retention: the oldest month dropped whole, against one day's rows deleted in batches.
        oldest = next(p for p in partitions.partitions() if not p.is_default)
        started = time.perf_counter()
        dropped, names = partitions.drop_partitions_before(oldest.end)
        drop_seconds = time.perf_counter() - started
        retention_rows.append([f"drop the partition {', '.join(names)}", f"{dropped:,}", f"{drop_seconds:.2f}",
                               f"{dropped / max(drop_seconds, 1e-9):,.0f}"])
        day_start = oldest.end + timedelta(days=1)
        started = time.perf_counter()
        deleted = privacy.delete_in_batches(JourneyEvent.objects.filter(
            created_at__gte=day_start, created_at__lt=day_start + timedelta(days=1)), 5000)
        delete_seconds = time.perf_counter() - started
        rate = deleted / max(delete_seconds, 1e-9)
        retention_rows.append(["delete one day's rows (batches of 5,000)", f"{deleted:,}", f"{delete_seconds:.2f}",
                               f"{rate:,.0f}"])
        if dropped and rate:
            retention_rows.append(["delete a month's rows instead (extrapolated)", f"{dropped:,}",
                                   f"{dropped / rate:.0f}", f"{rate:,.0f}"])
    finally:
        if not args.keep:
            drop_database(DB_NAME)

    print(f"\nFunnel over {count:,} events in monthly partitions (PostgreSQL; target <= {TARGET * 1000:.0f} ms for "
          "30 and 90 days; median of 3)")
    print(table(["funnel", "events in period", "visits", "live days", "ms", "target"], rows))
    print(f"\nJourney map page on {count:,} events (admin view rendered; target <= {TARGET * 1000:.0f} ms for 30 and "
          "90 days; median of 3)")
    print(table(["period", "ms", "target"], map_rows))
    print("\nRetention: dropping a month's partition against deleting rows")
    print(table(["how", "rows", "seconds", "rows/s"], retention_rows))
    print("\nEXPLAIN (plan only): events of the last 90 days — partition pruning, one scan per month partition")
    print(plans["pruning"])
    print("\nEXPLAIN ANALYZE: the funnel's rolled-up days, whole shop, 90 days (journey_funnelday)")
    print("\n".join("  " + line for line in plans["stored"].splitlines()))
    print("\nEXPLAIN ANALYZE: today computed live from the events (only this month's partition is read)")
    print(plans["live"])
    print("\nSet-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in setup.items()))
    print(f"Machine: {load_before} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
