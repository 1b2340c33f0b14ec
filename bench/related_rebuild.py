"""Related products: a full rebuild from PostgreSQL, on the demo data and on a synthetic history N times its size.

1. **The full demo** (``load_demo --size full`` in ``DATABASE_URL``: 1.44 M order lines, 67,575 products): read +
   compute + assemble + write + swap in <= 5 s and <= 1 GiB peak RSS, then the PostgreSQL self-join computing only
   the pair counts and top-10 on the same data, for the ratio (>= 20x; ``--skip-self-join`` leaves it out).
2. **N x the Complete Journey** (``--scale N``, default 10: ~14.4 M order lines, 1.4 M orders, 676 k products;
   ``--scale 0`` leaves it out): a seeded synthetic history (bench/related_synthetic.py) COPY-loaded into its own
   database ``journey_bench_related_x<N>``, then one rebuild there: <= 90 s and <= 4 GiB peak RSS.  Generating 10x
   takes ~5 min on a quiet 2-core machine (longer on a busy one); ``--keep`` keeps the database for the next run
   (which then reuses it), otherwise it is dropped at the end.

Every figure is printed beside its target; a miss says MISSED (``make bench`` then exits non-zero).  The rebuild runs
in a child process, so its peak RSS is the rebuild's own (the figure per stage is the peak so far).
``--smoke``: the tiny demo for part 1 and a 0.02x history for part 2, targets not enforced.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from bench.common import ROOT, machine_load, table

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
DEMO_TARGET_S, DEMO_TARGET_MB = 5.0, 1024
SCALE_TARGET_S, SCALE_TARGET_MB = 90.0, 4096
SEED = 0


def child():
    import resource

    import django

    django.setup()
    from journey.related.services import rebuild

    started = time.perf_counter()
    cpu = time.process_time()
    report = rebuild()
    build = report.build
    print(json.dumps({"seconds": report.seconds, "engine": report.engine_seconds, "peak": report.peak_mb,
                      "total": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                      "lines": build.lines, "orders": build.orders, "products": build.products, "rows": build.rows,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_rebuild(database_url=None):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "DEBUG": "false"}
    if database_url:
        env["DATABASE_URL"] = database_url
    result = subprocess.run([sys.executable, "-m", "bench.related_rebuild", "--child"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"related_rebuild: the rebuild failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def stage_rows(result, target_s):
    """One row per stage (the compute stage's own stages indented under it): seconds, peak RSS so far."""
    rows = []
    for stage, seconds in result["seconds"].items():
        rows.append([stage, f"{seconds:.2f}", f"{result['peak'].get(stage, 0):.0f}", ""])
        if stage == "compute":
            rows += [[f"  · {name}", f"{value:.2f}", "", ""] for name, value in result["engine"].items()]
    total_ok = result["total"] <= target_s
    rows.append(["total (in the rebuild process)", f"{result['total']:.2f}", f"{result['peak_mb']:.0f}",
                 f"<= {target_s:.0f} s: {verdict(total_ok)}"])
    rows.append(["  CPU time of the process", f"{result['cpu']:.2f}", "", ""])
    return rows


def verdict(ok):
    from bench.common import verdict as common_verdict

    return common_verdict(ok)


def self_join(url):
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("SET statement_timeout = '15min'")
        started = time.perf_counter()
        rows = conn.execute(SELF_JOIN).fetchone()[0]
        return time.perf_counter() - started, rows


def demo_part(args):
    result = run_rebuild()
    if result["lines"] < 1_000_000:
        print(f"related_rebuild: only {result['lines']:,} order lines: load the full data set for the target")
    ok_mb = result["peak_mb"] <= DEMO_TARGET_MB
    print(f"\nRelated-products rebuild, demo data (PostgreSQL): {result['lines']:,} order lines, {result['orders']:,} "
          f"orders → {result['products']:,} lists, {result['rows']:,} entries; peak RSS {result['peak_mb']:.0f} MB "
          f"(target <= {DEMO_TARGET_MB} MB: {verdict(ok_mb)}); {machine_load()}")
    print(table(["stage", "seconds", "peak RSS MB", "target"], stage_rows(result, DEMO_TARGET_S)))
    if not args.skip_self_join:
        seconds, top_rows = self_join(os.environ["DATABASE_URL"])
        ratio = seconds / result["total"]
        print(f"\nPostgreSQL self-join on the same data (all pair counts + top-10 per product only; no threshold, "
              f"rules or fallback): {seconds:.1f} s for {top_rows:,} rows → the rebuild is {ratio:.0f}x faster "
              f"(target >= 20x: {verdict(ratio >= 20)})")


def scale_part(args):
    import psycopg

    from bench.common import create_database, drop_database, postgres_url, scratch_name
    from bench.related_synthetic import generated

    scale = args.scale
    # With this run's suffix (bench/run.py): the name create_database makes, and the one the URL must name.
    name = scratch_name(f"journey_bench_related_x{scale:g}".replace(".", "_"))
    url = postgres_url(name)
    reuse = False
    try:
        with psycopg.connect(url) as conn, conn.cursor() as cursor:
            found = generated(cursor)
            reuse = found is not None and float(found[0]) == scale and int(found[1]) == SEED
    except psycopg.OperationalError:
        pass
    generation = None
    if not reuse:
        create_database(name)
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "shop.settings", "DEBUG": "false"}
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "bench.related_synthetic", "--scale", str(scale), "--seed",
                              str(SEED)], cwd=ROOT, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            drop_database(name)
            sys.exit(f"related_rebuild: generating the {scale:g}x history failed:\n{out.stdout}\n{out.stderr}")
        generation = json.loads(out.stdout.strip().splitlines()[-1])
        generation["wall"] = time.perf_counter() - started
    try:
        result = run_rebuild(url)
    finally:
        if not args.keep:
            drop_database(name)
    where = (f"generated in {generation['wall']:.0f} s (sampling {generation['synthesize']:.0f} s, peak "
             f"{generation['peak_mb']:.0f} MB)" if generation else "reused from an earlier --keep run")
    ok_mb = result["peak_mb"] <= SCALE_TARGET_MB
    print(f"\nRelated-products rebuild, {scale:g}x the Complete Journey (synthetic, seed {SEED}, {where}): "
          f"{result['lines']:,} order lines, {result['orders']:,} orders → {result['products']:,} lists, "
          f"{result['rows']:,} entries; peak RSS {result['peak_mb']:.0f} MB (target <= {SCALE_TARGET_MB} MB: "
          f"{verdict(ok_mb)}); {machine_load()}")
    print(table(["stage", "seconds", "peak RSS MB", "target"], stage_rows(result, SCALE_TARGET_S)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--skip-self-join", action="store_true")
    parser.add_argument("--scale", type=float, default=None, help="N x the Complete Journey (default 10; 0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the N x database for the next run")
    parser.add_argument("--skip-demo", action="store_true", help="only the N x part")
    args, _unknown = parser.parse_known_args()
    from bench.common import postgres_available, smoke

    if args.child:
        child()
        return
    if args.scale is None:
        args.scale = 0.02 if smoke() else 10.0
    if smoke():  # bench/run.py --smoke: the smoke database's tiny demo; the self-join is the slow part
        args.skip_self_join = True
    if not args.skip_demo:
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):
            demo_part(args)
        else:
            print("related_rebuild: the demo part needs DATABASE_URL=postgres://… with load_demo --size full "
                  "(skipped)")
    if args.scale > 0:
        if postgres_available():
            print(f"related_rebuild: the {args.scale:g}x part needs a PostgreSQL server (skipped)")
        else:
            scale_part(args)


if __name__ == "__main__":
    main()
