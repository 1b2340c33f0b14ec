"""Related products: a full rebuild from the database vs. a PostgreSQL self-join computing only the counts and top-10.

Targets (issue 4): read + compute + write the top-10 lists of the full Complete Journey set (load_demo --size full)
in <= 8 s and <= 1 GiB peak on this 2-core machine, >= 20x faster than the self-join (~166 s measured here).
Needs DATABASE_URL pointing at PostgreSQL with the full demo data.  ``--skip-self-join`` leaves the slow part out.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from bench.common import ROOT, table

SELF_JOIN = """
WITH pairs AS (
    SELECT a.product_id AS p, b.product_id AS q, count(DISTINCT a.order_id) AS n
    FROM order_line a JOIN order_line b ON a.order_id = b.order_id AND a.product_id <> b.product_id
    GROUP BY 1, 2
), ranked AS (
    SELECT p, q, n, row_number() OVER (PARTITION BY p ORDER BY n DESC, q) AS r FROM pairs
)
SELECT count(*) FROM ranked WHERE r <= 10
"""


def child():
    import django

    django.setup()
    from journey.related.services import rebuild

    started = time.perf_counter()
    report = rebuild()
    build = report.build
    print(json.dumps({"seconds": report.seconds, "total": time.perf_counter() - started, "lines": build.lines,
                      "orders": build.orders, "products": build.products, "rows": build.rows,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def self_join():
    import psycopg

    from shop.env import database

    db = database(ROOT / "var")
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"] or None,
                         password=db["PASSWORD"] or None, dbname=db["NAME"]) as conn:
        conn.execute("SET statement_timeout = '15min'")
        started = time.perf_counter()
        rows = conn.execute(SELF_JOIN).fetchone()[0]
        return time.perf_counter() - started, rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--skip-self-join", action="store_true")
    args, _unknown = parser.parse_known_args()
    from bench.common import smoke, verdict

    if smoke():  # bench/run.py --smoke: the smoke database's tiny demo; the self-join is the slow part
        args.skip_self_join = True
    if args.child:
        child()
        return
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("related_rebuild: needs DATABASE_URL=postgres://… with load_demo --size full (skipped)")
        return
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "DEBUG": "false"}
    out = subprocess.run([sys.executable, "-m", "bench.related_rebuild", "--child"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if result["lines"] < 1_000_000:
        print(f"related_rebuild: only {result['lines']:,} order lines: load the full data set for the target")
    rows = [[stage, f"{seconds:.2f}"] for stage, seconds in result["seconds"].items()]
    rows.append(["total (incl. Django set-up of the run)", f"{result['total']:.2f}"])
    ok = result["total"] <= 8 and result["peak_mb"] <= 1024
    print(f"\nRelated-products rebuild (PostgreSQL): {result['lines']:,} order lines, {result['orders']:,} orders → "
          f"{result['products']:,} lists, {result['rows']:,} entries; peak RSS {result['peak_mb']:.0f} MB "
          f"(target <= 8 s and <= 1 GiB: {verdict(ok)})")
    print(table(["stage", "seconds"], rows))
    if not args.skip_self_join:
        seconds, top_rows = self_join()
        ratio = seconds / result["total"]
        print(f"\nPostgreSQL self-join (all pair counts + top-10 per product only; no threshold, rules or fallback): "
              f"{seconds:.1f} s for {top_rows:,} "
              f"rows → the rebuild is {ratio:.0f}x faster (target >= 20x: {verdict(ratio >= 20)})")


if __name__ == "__main__":
    main()
