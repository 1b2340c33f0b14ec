"""Quantity-promotion hints: product page and basket page with a live quantity promotion, journey vs. without.

Targets: p50 with journey <= 1.10 x without, and at most 1 extra SQL query per page.  Both variants see the same
live Oscar offers (the promotion's tier offers are ordinary Oscar site offers, so the shop without journey applies
them too); the difference is journey's hint ("Add 1 more for 15 % off") and everything else journey adds.
Runs on the database the shop is configured for (DATABASE_URL) with the demo data loaded; the promotion, its range
and offers are created before and deleted after (never used in an order, so nothing else changes).
"""

import argparse
import json
import os
import sys
import time

ROUNDS = 4
REQUESTS = 60
SETTINGS = {"without journey": "bench.settings_without_journey", "with journey": "shop.settings"}
EXTRA_QUERIES = 1
RATIO = 1.10
NAME = "bench: quantity hint"


def _products():
    from oscar.core.loading import get_model

    Product = get_model("catalogue", "Product")
    products = list(Product.objects.filter(is_public=True, stockrecords__num_in_stock__gt=0).order_by("id")[:20])
    if len(products) < 3:
        sys.exit("bench needs the demo catalogue: run `make run` or `python manage.py load_demo` first")
    return products


def setup():
    from decimal import Decimal

    from django.utils import timezone
    from oscar.core.loading import get_model

    from journey.promotions.quantity import offers
    from journey.promotions.quantity.models import QuantityPromotion, QuantityTier

    teardown()
    Range = get_model("offer", "Range")
    offer_range = Range.objects.create(name=NAME, is_public=False)
    for product in _products():
        offer_range.add_product(product)
    promotion = QuantityPromotion.objects.create(name=NAME, product_range=offer_range, is_draft=False,
                                                 starts_at=timezone.now())
    for count, pct in ((2, "10"), (3, "15")):
        QuantityTier.objects.create(promotion=promotion, min_quantity=count, percentage=Decimal(pct))
    offers.sync_offers(promotion)
    return {"promotion": promotion.pk}


def teardown():
    from oscar.core.loading import get_model

    from journey.promotions.quantity import offers
    from journey.promotions.quantity.models import QuantityPromotion

    for promotion in QuantityPromotion.objects.filter(name=NAME):
        offers.delete(promotion)
    get_model("offer", "Range").objects.filter(name=NAME).delete()
    return {}


def measure(requests):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from oscar.core.loading import get_model

    from bench.common import BROWSER_USER_AGENT

    setup_test_environment()
    Basket = get_model("basket", "Basket")
    products = _products()
    client = Client(HTTP_USER_AGENT=BROWSER_USER_AGENT)
    try:
        response = client.post(f"/basket/add/{products[0].pk}/", {"quantity": 1})
        assert response.status_code == 302, response.status_code
        pages = {"product page (hint)": [p.get_absolute_url() for p in products], "basket page (hint)": ["/basket/"]}
        results = {}
        for name, urls in pages.items():
            for url in urls[:5]:
                assert client.get(url).status_code == 200
            with CaptureQueriesContext(connection) as ctx:
                html = client.get(urls[0]).content.decode()
            queries = len(ctx.captured_queries)
            samples = []
            for i in range(requests):
                started = time.perf_counter()
                response = client.get(urls[i % len(urls)])
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200
            results[name] = {"samples": samples, "queries": queries, "hint": "Add 1 more for 10" in html}
    finally:
        cookie = client.cookies.get("oscar_open_basket")
        if cookie and cookie.value:
            Basket.objects.filter(pk=int(cookie.value.split(":")[0])).delete()
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["measure", "setup", "teardown"])
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args, _unknown = parser.parse_known_args()
    from bench.common import smoke

    if smoke():  # bench/run.py --smoke: runs end to end, says nothing about speed
        args.rounds, args.requests = 1, 3
    if args.child:
        import django

        django.setup()
        result = {"measure": lambda: measure(args.requests), "setup": setup, "teardown": teardown}[args.child]()
        print(json.dumps(result))
        return

    from bench.common import machine_load, p50, run_child, table, verdict

    load_before = machine_load()
    started = time.perf_counter()
    run_child("bench.promotions_hint", "shop.settings", "--child", "setup")
    samples = {label: {} for label in SETTINGS}
    queries = {label: {} for label in SETTINGS}
    hints = {label: {} for label in SETTINGS}
    try:
        for _ in range(args.rounds):
            for label, settings in SETTINGS.items():
                for page, data in run_child("bench.promotions_hint", settings, "--child", "measure", "--requests",
                                            str(args.requests)).items():
                    samples[label].setdefault(page, []).extend(data["samples"])
                    queries[label][page] = data["queries"]
                    hints[label][page] = data["hint"]
    finally:
        run_child("bench.promotions_hint", "shop.settings", "--child", "teardown")
    rows = []
    for page in samples["with journey"]:
        base, journey = p50(samples["without journey"][page]), p50(samples["with journey"][page])
        extra = queries["with journey"][page] - queries["without journey"][page]
        ratio = journey / base
        ok = ratio <= RATIO and extra <= EXTRA_QUERIES and hints["with journey"][page]
        rows.append([page, f"{base * 1000:.1f}", f"{journey * 1000:.1f}", f"{ratio:.2f}x",
                     queries["without journey"][page], queries["with journey"][page], f"{extra:+d}",
                     "yes" if hints["with journey"][page] else "NO", f"<= {RATIO:.2f}x, <= +{EXTRA_QUERIES}",
                     verdict(ok)])
    engine = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"\nQuantity-promotion hints ({engine}, {args.rounds} x {args.requests} requests per page and variant, "
          f"interleaved; {time.perf_counter() - started:.0f} s; {load_before} before, "
          f"{os.getloadavg()[0]:.1f} after)")
    print(table(["page", "p50 without (ms)", "p50 with (ms)", "ratio", "queries without", "queries with",
                 "extra", "hint shown", "target", ""], rows))


if __name__ == "__main__":
    main()
