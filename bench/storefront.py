"""Storefront overhead: product page and basket page, journey installed vs. the same shop without it.

Target (issue 2): p50 with journey <= 1.10 x without, and <= 2 extra SQL queries per page.
Runs on the database the shop is configured for (DATABASE_URL), with the demo data loaded (make run / load_demo).
"""

import argparse
import json
import os
import sys
import time

ROUNDS = 4          # alternate with/without this many times, to spread machine noise over both
REQUESTS = 60       # timed requests per page per round
SETTINGS = {"without journey": "bench.settings_without_journey", "with journey": "shop.settings"}


def measure(requests):
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from oscar.core.loading import get_model

    setup_test_environment()
    Product = get_model("catalogue", "Product")
    products = list(
        Product.objects.filter(is_public=True, stockrecords__num_in_stock__gt=0).order_by("id")[:20]
    )
    if len(products) < 3:
        sys.exit("bench needs the demo catalogue: run `make run` or `python manage.py load_demo` first")
    client = Client()
    for product in products[:3]:
        response = client.post(f"/basket/add/{product.pk}/", {"quantity": 1})
        assert response.status_code == 302, response.status_code
    pages = {"product page": [p.get_absolute_url() for p in products], "basket page": ["/basket/"]}
    results = {}
    for name, urls in pages.items():
        for url in urls[:5]:  # warm caches and templates
            assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as ctx:
            client.get(urls[0])
        queries = len(ctx.captured_queries)  # read now: the next request resets the connection's query log
        samples = []
        for i in range(requests):
            started = time.perf_counter()
            response = client.get(urls[i % len(urls)])
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200
        results[name] = {"samples": samples, "queries": queries}
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.requests)))
        return

    from bench.common import p50, run_child, table

    samples = {label: {} for label in SETTINGS}
    queries = {label: {} for label in SETTINGS}
    for _ in range(args.rounds):
        for label, settings in SETTINGS.items():
            for page, data in run_child("bench.storefront", settings, "--child", "--requests",
                                        str(args.requests)).items():
                samples[label].setdefault(page, []).extend(data["samples"])
                queries[label][page] = data["queries"]
    rows = []
    for page in samples["with journey"]:
        base, journey = p50(samples["without journey"][page]), p50(samples["with journey"][page])
        extra = queries["with journey"][page] - queries["without journey"][page]
        ratio = journey / base
        ok = ratio <= 1.10 and extra <= 2
        rows.append([page, f"{base * 1000:.1f}", f"{journey * 1000:.1f}", f"{ratio:.2f}x",
                     queries["without journey"][page], queries["with journey"][page], f"{extra:+d}",
                     "ok" if ok else "MISSED"])
    engine = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"\nStorefront overhead ({engine}, {args.rounds} x {args.requests} requests per page and variant; "
          "target <= 1.10x p50, <= 2 extra queries)")
    print(table(["page", "p50 without (ms)", "p50 with (ms)", "ratio", "queries without", "queries with",
                 "extra", "target"], rows))


if __name__ == "__main__":
    main()
