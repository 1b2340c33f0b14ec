"""Event capture overhead: the product page with journey's events on vs. off (same shop, same middleware).

Targets: p50 with events <= 1.10 x without; at most 1 extra SQL query per request (the one INSERT of the
request's buffered events).  Runs on the database the shop is configured for (DATABASE_URL) with the demo data
loaded; each variant runs in its own process, alternating, so machine noise spreads over both.  A child deletes
the events it wrote and restores the analytics counters its requests bumped.
"""

import argparse
import json
import os
import sys
import time

ROUNDS = 4
REQUESTS = 60
SETTINGS = {"events off": "bench.settings_events_off", "events on": "shop.settings"}
EXTRA_QUERIES = 1
RATIO = 1.10



def measure(requests):
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Max
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from oscar.core.loading import get_model

    from bench.common import BROWSER_USER_AGENT
    from bench.storefront import restore_counters, snapshot_counters
    from journey.core.models import JourneyEvent

    setup_test_environment()
    Product = get_model("catalogue", "Product")
    products = list(Product.objects.filter(is_public=True, stockrecords__num_in_stock__gt=0).order_by("id")[:20])
    if len(products) < 3:
        sys.exit("bench needs the demo catalogue: run `make run` or `python manage.py load_demo` first")
    snapshot = snapshot_counters(products)
    start_id = JourneyEvent.objects.aggregate(m=Max("id"))["m"] or 0
    client = Client(HTTP_USER_AGENT=BROWSER_USER_AGENT)
    urls = [p.get_absolute_url() for p in products]
    try:
        for url in urls[:5]:
            assert client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as ctx:
            client.get(urls[0])
        queries = len(ctx.captured_queries)
        samples = []
        for i in range(requests):
            started = time.perf_counter()
            response = client.get(urls[i % len(urls)])
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200
        written = JourneyEvent.objects.filter(id__gt=start_id, kind="product_view",
                                              product_id__in=[p.pk for p in products]).count()
    finally:
        visitors = set(JourneyEvent.objects.filter(id__gt=start_id, product_id__in=[p.pk for p in products])
                       .values_list("visitor_id", flat=True))
        JourneyEvent.objects.filter(id__gt=start_id, visitor_id__in=visitors).delete()
        restore_counters(products, snapshot)
    return {"samples": samples, "queries": queries, "events": written}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args, _unknown = parser.parse_known_args()
    from bench.common import smoke

    if smoke():  # bench/run.py --smoke: runs end to end, says nothing about speed
        args.rounds, args.requests = 1, 3
    if args.child:
        print(json.dumps(measure(args.requests)))
        return

    from bench.common import machine_load, p50, run_child, table, verdict

    load_before = machine_load()
    started = time.perf_counter()
    samples = {label: [] for label in SETTINGS}
    queries, written = {}, {}
    for _ in range(args.rounds):
        for label, settings in SETTINGS.items():
            data = run_child("bench.events_overhead", settings, "--child", "--requests", str(args.requests))
            samples[label].extend(data["samples"])
            queries[label] = data["queries"]
            written[label] = written.get(label, 0) + data["events"]
    base, on = p50(samples["events off"]), p50(samples["events on"])
    extra = queries["events on"] - queries["events off"]
    ratio = on / base
    # Every timed request of the "on" variant must have written its product view (else the bench measures nothing).
    recorded = written["events on"] >= args.rounds * args.requests and written["events off"] == 0
    ok = ratio <= RATIO and extra <= EXTRA_QUERIES and recorded
    engine = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"\nEvent capture overhead, product page ({engine}, {args.rounds} x {args.requests} requests per variant, "
          f"interleaved; {time.perf_counter() - started:.0f} s; {load_before} before, "
          f"{os.getloadavg()[0]:.1f} after)")
    print(table(["page", "p50 off (ms)", "p50 on (ms)", "ratio", "queries off", "queries on", "extra",
                 "events written (on/off)", "target", ""],
                [["product page", f"{base * 1000:.1f}", f"{on * 1000:.1f}", f"{ratio:.2f}x", queries["events off"],
                  queries["events on"], f"{extra:+d}", f"{written['events on']}/{written['events off']}",
                  f"<= {RATIO:.2f}x, <= +{EXTRA_QUERIES}", verdict(ok)]]))


if __name__ == "__main__":
    main()
