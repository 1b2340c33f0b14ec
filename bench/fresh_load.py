"""The product page right after a bulk load, with no manual ANALYZE (issue 17): query plans must not depend on luck.

A scratch PostgreSQL database (``journey_bench_fresh``, created, migrated and dropped) gets ``load_demo --size small``
(``tiny`` in smoke mode) and ``journey_rebuild_related``, exactly as ``make run`` does -- and nothing else: no
``ANALYZE`` by hand (autovacuum may be late, or off as on this machine).  Then, in a fresh process:

* the related list of 100 products through ``related_products()`` with the list cache off (each a real query),
* the product page of the same products (``GET``, the related list rendered uncached),

with ``pg_stat_user_tables`` showing which tables were analysed (by the bulk writers themselves) and the plan of one
list query.  Targets: the list query p95 <= 5 ms (97 ms per list on stale statistics before issue 17, 1.5 ms after a
manual ANALYZE); the product page p95 <= 150 ms.
"""

import argparse
import json
import os
import subprocess
import sys
import time

DB_NAME = "journey_bench_fresh"
PRODUCTS = 100
LIST_P95_MS = 5.0
PAGE_P95_MS = 150.0
TABLES = ("catalogue_product", "partner_stockrecord", "order_line", "journey_relatedproduct")


def child(products):
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from oscar.core.loading import get_model

    from bench.common import BROWSER_USER_AGENT
    from journey.related import api

    setup_test_environment()
    settings.JOURNEY = {**settings.JOURNEY, "RELATED_CACHE_SECONDS": 0}
    Product = get_model("catalogue", "Product")
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL, "
                       "last_autoanalyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = ANY(%s)", [list(TABLES)])
        analysed = {name: [bool(done), bool(auto)] for name, done, auto in cursor.fetchall()}
    chosen = list(Product.objects.filter(is_public=True).order_by("?")[:products])
    lists, pages, shown = [], [], 0
    for product in chosen:
        started = time.perf_counter()
        shown += len(api.related_products(product, limit=4))
        lists.append(time.perf_counter() - started)
    client = Client(HTTP_USER_AGENT=BROWSER_USER_AGENT)
    for product in chosen:
        started = time.perf_counter()
        response = client.get(product.get_absolute_url())
        pages.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    plan = api._entries(product_id=chosen[0].pk, kind=1).order_by("rank")[:12].explain(analyze=True)
    print(json.dumps({"lists": lists, "pages": pages, "shown": shown, "analysed": analysed, "plan": plan,
                      "products": Product.objects.count()}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--products", type=int, default=PRODUCTS)
    args, _unknown = parser.parse_known_args()  # bench/run.py passes every script the same arguments
    from bench.common import smoke

    size = "tiny" if smoke() else "small"
    if smoke():
        args.products = 10
    if args.child:
        child(args.products)
        return

    from bench.common import (
        ROOT,
        create_database,
        drop_database,
        machine_load,
        p50,
        p95,
        postgres_available,
        table,
        verdict,
    )

    problem = postgres_available()
    if problem:
        print(f"\nFresh load: SKIPPED (needs PostgreSQL: {problem})")
        return
    load_before = machine_load()
    url = create_database(DB_NAME)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "shop.settings", "DEBUG": "false"}
    try:
        started = time.perf_counter()
        for command in (["load_demo", "--size", size, "--no-progress", "--no-activity", "-v", "0"],
                        ["journey_rebuild_related"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True)
        loaded = time.perf_counter() - started
        result = subprocess.run([sys.executable, "-m", "bench.fresh_load", "--child", "--products",
                                 str(args.products)], cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"bench.fresh_load child failed:\n{result.stdout}\n{result.stderr}")
        data = json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        drop_database(DB_NAME)
    lists_ms = [s * 1000 for s in data["lists"]]
    pages_ms = [s * 1000 for s in data["pages"]]
    rows = [
        ["related list (related_products, uncached)", f"{p50(lists_ms):.1f}", f"{p95(lists_ms):.1f}",
         f"p95 <= {LIST_P95_MS:.0f} ms", verdict(p95(lists_ms) <= LIST_P95_MS)],
        ["product page (GET, list uncached)", f"{p50(pages_ms):.1f}", f"{p95(pages_ms):.1f}",
         f"p95 <= {PAGE_P95_MS:.0f} ms", verdict(p95(pages_ms) <= PAGE_P95_MS)],
    ]
    print(f"\nFresh load, no manual ANALYZE (PostgreSQL; load_demo --size {size} + journey_rebuild_related in "
          f"{loaded:.0f} s; {data['products']:,} products; {len(lists_ms)} products timed, {data['shown']} related "
          f"products shown; {load_before} before, {os.getloadavg()[0]:.1f} after)")
    print(table(["what", "p50 (ms)", "p95 (ms)", "target", ""], rows))
    print("\nTables analysed after the load (by the bulk writers; autoanalyze in the last column):")
    print(table(["table", "analysed", "by autovacuum"],
                [[name, *map(str, data["analysed"].get(name, ["?", "?"]))] for name in TABLES]))
    print("\nEXPLAIN ANALYZE of one list query:")
    print(data["plan"])


if __name__ == "__main__":
    main()
