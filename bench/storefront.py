"""Storefront overhead: product page, basket page and add to basket, journey installed vs. the same shop without it.

Targets (issue 17): p50 and p95 with journey <= 1.05 x without on every page; at most one extra SQL query per request
(the product page's events INSERT; for add to basket the basket-activity upsert goes in the same statement).
Runs on the database the shop is configured for (DATABASE_URL), with the demo data loaded (make run / load_demo).
Each variant runs in its own process, alternating, so machine noise spreads over both.  A child removes what it
added: its baskets (with their lines and journey activity rows) and the analytics counters its requests bumped.

"add to basket" is POST /basket/add/<id>/ (quantity 1, the redirect not followed) into a basket that already holds
the three products it cycles over, so every timed request changes one existing line of a 3-line basket.
"""

import argparse
import json
import os
import sys
import time

ROUNDS = 4          # alternate with/without this many times, to spread machine noise over both
REQUESTS = 60       # timed requests per page per round
SETTINGS = {"without journey": "bench.settings_without_journey", "with journey": "shop.settings"}
EXTRA_QUERIES = {"product page": 1, "basket page": 1, "add to basket": 1}
RATIO = 1.05
RATIO_P95 = 1.05
LANDING_P95 = 1.5    # the restore link: token, basket checks, cookie, redirect -- vs. the basket page (p95)
ADD_STOCK = 1000    # products for "add to basket" have at least this many in stock (quantities grow each request)


def basket_id(client):
    cookie = client.cookies.get("oscar_open_basket")
    return int(cookie.value.split(":")[0]) if cookie and cookie.value else None


def snapshot_counters(products):
    from oscar.core.loading import get_model

    ProductRecord = get_model("analytics", "ProductRecord")
    fields = [f.attname for f in ProductRecord._meta.concrete_fields if f.attname not in ("id", "product_id")]
    records = ProductRecord.objects.filter(product__in=products).values("product_id", *fields)
    rows = {r["product_id"]: r for r in records}
    return ProductRecord, rows


def restore_counters(products, snapshot):
    ProductRecord, rows = snapshot
    ProductRecord.objects.filter(product__in=products).exclude(product_id__in=list(rows)).delete()
    for product_id, values in rows.items():
        ProductRecord.objects.filter(product_id=product_id).update(
            **{k: v for k, v in values.items() if k != "product_id"})


def measure_landing(products, requests):
    """The recovery mail's "return to my basket" link (journey only): each visitor is a new device (a fresh client)
    following the link of its own guest's 3-line basket in its recovery sequence, with its mail and link token; the
    link moves that basket into the visitor's new basket (a link works on one new device: docs/recovery.md).  The
    baskets, mails and tokens are made before the clock starts."""
    from datetime import timedelta

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from oscar.core.loading import get_class, get_model

    from bench.common import BROWSER_USER_AGENT
    from journey.core import tokens
    from journey.core.models import LinkToken, Message
    from journey.recovery.models import BasketActivity
    from journey.recovery.services import MAIL_KIND

    Basket = get_model("basket", "Basket")
    strategy = get_class("partner.strategy", "Default")()
    now = timezone.now()
    anchor = now - timedelta(hours=2)
    made_baskets, made_messages, visitor_baskets = [], [], []

    def link():
        basket = Basket.objects.create()
        basket.strategy = strategy
        for product in products:
            basket.add_product(product, 1)
        made_baskets.append(basket.pk)
        # journey already tracks the basket: its activity row moves into the sequence.
        activity, _created = BasketActivity.objects.update_or_create(basket_id=basket.pk, defaults={
            "email": f"bench-landing-{basket.pk}@example.com", "email_source": BasketActivity.Source.CHECKOUT,
            "email_captured_at": anchor, "last_activity_at": anchor, "state": BasketActivity.State.IN_SEQUENCE,
            "cycle": 1, "sequence_anchor_at": anchor, "sequence_started_at": now - timedelta(hours=1)})
        message = Message.objects.create(
            tool="recovery", kind=MAIL_KIND, subject_key=f"bench:landing:{basket.pk}", step=1,
            to_email=activity.email, due_at=now, state=Message.State.SENT, sent_at=now,
            context={"activity_id": activity.pk, "cycle": 1})
        made_messages.append(message.pk)
        return f"/journey/r/{tokens.issue('recovery', object_id=message.pk, ttl=timedelta(days=1))}/"

    def follow(url):
        visitor = Client(HTTP_USER_AGENT=BROWSER_USER_AGENT)
        started = time.perf_counter()
        response = visitor.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 302, response.status_code
        visitor_baskets.append(basket_id(visitor))
        return elapsed

    try:
        for _ in range(3):  # warm
            follow(link())
        url = link()
        with CaptureQueriesContext(connection) as ctx:
            follow(url)
        queries = len(ctx.captured_queries)
        urls = [link() for _ in range(requests)]
        samples = [follow(url) for url in urls]
    finally:
        LinkToken.objects.filter(purpose="recovery", object_id__in=[str(pk) for pk in made_messages]).delete()
        Message.objects.filter(pk__in=made_messages).delete()
        Basket.objects.filter(pk__in=made_baskets + [b for b in visitor_baskets if b]).delete()
    return {"samples": samples, "queries": queries}


def measure(requests):
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from oscar.core.loading import get_model

    from bench.common import BROWSER_USER_AGENT

    setup_test_environment()
    Product = get_model("catalogue", "Product")
    Basket = get_model("basket", "Basket")
    products = list(
        Product.objects.filter(is_public=True, stockrecords__num_in_stock__gt=0).order_by("id")[:20]
    )
    to_add = list(
        Product.objects.filter(is_public=True, stockrecords__num_in_stock__gte=ADD_STOCK).order_by("id")[:3]
    )
    if len(products) < 3 or len(to_add) < 3:
        sys.exit("bench needs the demo catalogue: run `make run` or `python manage.py load_demo` first")
    snapshot = snapshot_counters(products + to_add)
    client, adder = Client(HTTP_USER_AGENT=BROWSER_USER_AGENT), Client(HTTP_USER_AGENT=BROWSER_USER_AGENT)
    try:
        for product in products[:3]:
            response = client.post(f"/basket/add/{product.pk}/", {"quantity": 1})
            assert response.status_code == 302, response.status_code
        for product in to_add:  # the adder's basket: these three lines, each timed add changes one of them
            response = adder.post(f"/basket/add/{product.pk}/", {"quantity": 1})
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

        adds = [f"/basket/add/{p.pk}/" for p in to_add]
        for url in adds:  # warm
            assert adder.post(url, {"quantity": 1}).status_code == 302
        with CaptureQueriesContext(connection) as ctx:
            adder.post(adds[0], {"quantity": 1})
        queries = len(ctx.captured_queries)
        samples = []
        for i in range(requests):
            started = time.perf_counter()
            response = adder.post(adds[i % len(adds)], {"quantity": 1})
            samples.append(time.perf_counter() - started)
            assert response.status_code == 302
        basket = Basket.objects.get(pk=basket_id(adder))
        expected = len(adds) * 2 + 1 + requests  # first adds, warm-up, the counted one, the timed ones
        if basket.num_items != expected:  # a refused add redirects too: make sure every add went through
            sys.exit(f"add to basket: {basket.num_items} items in the basket, expected {expected}")
        results["add to basket"] = {"samples": samples, "queries": queries}
        from django.apps import apps

        if apps.is_installed("journey"):
            results["recovery landing"] = measure_landing(products, requests)
    finally:
        Basket.objects.filter(pk__in=[b for b in (basket_id(client), basket_id(adder)) if b]).delete()
        restore_counters(products + to_add, snapshot)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args, _unknown = parser.parse_known_args()  # bench/run.py passes every script the same arguments
    from bench.common import smoke

    if smoke():  # bench/run.py --smoke: runs end to end, says nothing about speed
        args.rounds, args.requests = 1, 3
    if args.child:
        print(json.dumps(measure(args.requests)))
        return

    from bench.common import machine_load, p50, p95, run_child, table, verdict

    load_before = machine_load()
    started = time.perf_counter()
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
        if page not in samples["without journey"]:
            continue  # the landing: journey's own page, judged against the basket page below
        without, with_journey = samples["without journey"][page], samples["with journey"][page]
        base, journey = p50(without), p50(with_journey)
        base95, journey95 = p95(without), p95(with_journey)
        extra = queries["with journey"][page] - queries["without journey"][page]
        ratio, ratio95 = journey / base, journey95 / base95
        ok = ratio <= RATIO and ratio95 <= RATIO_P95 and extra <= EXTRA_QUERIES[page]
        rows.append([page, f"{base * 1000:.1f}", f"{journey * 1000:.1f}", f"{ratio:.2f}x",
                     f"{base95 * 1000:.1f}", f"{journey95 * 1000:.1f}", f"{ratio95:.2f}x",
                     queries["without journey"][page], queries["with journey"][page], f"{extra:+d}",
                     f"p50 <= {RATIO:.2f}x, p95 <= {RATIO_P95:.2f}x, <= +{EXTRA_QUERIES[page]}", verdict(ok)])
    landing, basket95 = samples["with journey"]["recovery landing"], p95(samples["with journey"]["basket page"])
    ok = p95(landing) <= LANDING_P95 * basket95
    rows.append(["recovery landing (journey only)", "—", f"{p50(landing) * 1000:.1f}", "—", "—",
                 f"{p95(landing) * 1000:.1f}", f"{p95(landing) / basket95:.2f}x basket", "—",
                 queries["with journey"]["recovery landing"], "—",
                 f"p95 <= {LANDING_P95:.1f}x the basket page's p95", verdict(ok)])
    engine = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"\nStorefront overhead ({engine}, {args.rounds} x {args.requests} requests per page and variant, "
          f"interleaved; {time.perf_counter() - started:.0f} s; {load_before} before, "
          f"{os.getloadavg()[0]:.1f} after)")
    print(table(["page", "p50 without (ms)", "p50 with (ms)", "p50 ratio", "p95 without (ms)", "p95 with (ms)",
                 "p95 ratio", "queries without", "queries with", "extra", "target", ""], rows))


if __name__ == "__main__":
    main()
