"""The holdout report over 1,000,000 decisions.

Target: on PostgreSQL, ``journey.insights.incrementality.results()`` (every period's treatment and control sums in
one aggregate query, then the intervals) over 1,000,000 assignments answers in <= 1 s (median of 3).  Also shown, for
information: the journey map's holdout rows for the last 30 days (people decided in the span), and the time
``assign.decide`` takes to record 10,000 new people (what the send gate adds per 100 batches of 100 mails).

The database ``journey_bench_incrementality`` is created, migrated, filled with ``INSERT … SELECT generate_series``
(4 tools, 2 periods each, 10 % held out, ~8 % conversion), ANALYZEd, and dropped at the end (``--keep`` keeps it).
"""

import argparse
import os
import statistics
import time

DB_NAME = "journey_bench_incrementality"
DECISIONS = 1_000_000
TARGET = 1.0
REPEATS = 3
TOOLS = ("recovery", "birthday", "post_purchase", "winback")

FILL_SQL = [
    """INSERT INTO journey_experiment (id, key, surface, holdout_share, salt, window_days, started_at, ended_at)
       SELECT row_number() OVER (), k, 'mail', 0.100, 's' || k || p, 7,
              now() - (CASE WHEN p = 1 THEN interval '120 days' ELSE interval '60 days' END),
              CASE WHEN p = 1 THEN now() - interval '60 days' END
       FROM unnest(%(tools)s::text[]) k, generate_series(1, 2) p""",
    "SELECT setval(pg_get_serial_sequence('journey_experiment', 'id'), (SELECT max(id) FROM journey_experiment))",
    "SELECT setseed(0.15)",
    """INSERT INTO journey_assignment (experiment_id, person, "group", variant, decided_at, window_ends_at, orders,
                                       revenue, discount)
       SELECT e.id, md5(i::text), CASE WHEN r1 < 0.1 THEN 'c' ELSE 't' END, '', d, d + interval '7 days',
              CASE WHEN r2 < (CASE WHEN r1 < 0.1 THEN 0.07 ELSE 0.085 END) THEN 1 ELSE 0 END,
              CASE WHEN r2 < (CASE WHEN r1 < 0.1 THEN 0.07 ELSE 0.085 END) THEN round((20 + r3 * 80)::numeric, 2)
                   ELSE 0 END,
              CASE WHEN r1 >= 0.1 AND r2 < 0.085 THEN 5 ELSE 0 END
       FROM (SELECT i, random() r1, random() r2, random() r3, 1 + (i %% 8) AS eid,
                    now() - (random() * 60) * interval '1 day' AS d0
             FROM generate_series(1, %(n)s) i) s
       JOIN journey_experiment e ON e.id = s.eid
       CROSS JOIN LATERAL (SELECT CASE WHEN e.ended_at IS NULL THEN s.d0 ELSE s.d0 - interval '60 days' END d) dd""",
    "ANALYZE journey_experiment",
    "ANALYZE journey_assignment",
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB_NAME} afterwards")
    args, _unknown = parser.parse_known_args()
    global DECISIONS
    from bench.common import smoke

    if smoke():
        DECISIONS = 5_000
    from bench.common import (
        create_database,
        drop_database,
        machine_load,
        postgres_available,
        table,
        use_database,
        verdict,
    )

    problem = postgres_available()
    if problem:
        print(f"\nHoldout report: SKIPPED (needs PostgreSQL: {problem})")
        return
    load_before = machine_load()
    started = time.perf_counter()
    url = create_database(DB_NAME)
    setup = {"create + migrate": time.perf_counter() - started}
    try:
        use_database(url)
        from datetime import timedelta

        from django.db import connection
        from django.utils import timezone

        from journey.core.experiments import assign
        from journey.core.experiments.models import Assignment
        from journey.insights import incrementality

        started = time.perf_counter()
        with connection.cursor() as cursor:
            for sql in FILL_SQL:
                cursor.execute(sql, {"tools": list(TOOLS), "n": DECISIONS})
        setup["fill"] = time.perf_counter() - started
        count = Assignment.objects.count()

        def timed(func):
            samples = []
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                out = func()
                samples.append(time.perf_counter() - t0)
            return statistics.median(samples), out

        report_s, results = timed(incrementality.results)
        now = timezone.now()
        map_s, rows = timed(lambda: incrementality.map_rows(now - timedelta(days=30), now))
        experiment = assign.current(["recovery"])["recovery"]
        people = [assign.person(email=f"new{i}@example.com") for i in range(10_000 if not smoke() else 500)]
        t0 = time.perf_counter()
        for i in range(0, len(people), 100):
            assign.decide(experiment, people[i:i + 100])
        decide_s = time.perf_counter() - t0
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE SELECT experiment_id, \"group\", variant, count(*), "
                           "sum(revenue), sum(revenue * revenue) FROM journey_assignment GROUP BY 1, 2, 3")
            plan = "\n".join("  " + r[0] for r in cursor.fetchall())
    finally:
        if not args.keep:
            connection.close()
            drop_database(DB_NAME)

    print(f"\nHoldout report over {count:,} decisions (PostgreSQL; target <= {TARGET:g} s, median of {REPEATS})")
    print(table(["what", "periods", "ms", "target"], [
        ["results(): every period, intervals and verdicts", len(results), f"{report_s * 1000:.0f}",
         verdict(report_s <= TARGET)],
        ["journey map rows, last 30 days (for information)", len(rows), f"{map_s * 1000:.0f}", "—"],
        [f"decide(): {len(people):,} new people in batches of 100 (for information)", 1,
         f"{decide_s * 1000:.0f}", "—"],
    ]))
    sample = next((r for r in results if r.key == "recovery" and r.experiment.ended_at is None), None)
    if sample is not None:
        print(f"\nrecovery, current period: {sample.treatment.people:,} / {sample.control.people:,} people; "
              f"{sample.verdict}")
    print("\nEXPLAIN ANALYZE of the aggregate:")
    print(plan)
    print("\nSet-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in setup.items()))
    print(f"Machine: {load_before} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
