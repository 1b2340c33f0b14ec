"""Post-purchase and win-back: the win-back candidate selection on the full demo data, and 3,000 post-purchase mails
with vouchers scheduled and sent through the outbox.

1. **Win-back selection** — the job's one candidate query (``followups.winback_candidates_sql``, 90 days, guests
   included) on ``journey_demo_full`` (``load_demo --size full``: ~2,500 customers, 140k orders), read-only (a READ
   ONLY transaction, nothing written), "now" being a day after the newest order.  Median of 5 runs and
   EXPLAIN (ANALYZE, BUFFERS).  Target: ≤ 1 s.  ``--demo-url`` (default: BENCH_DEMO_URL, else the server of
   DATABASE_URL with the database ``journey_demo_full``).
2. **3,000 post-purchase mails** — in a fresh database (``journey_bench_loyalty``, created, migrated and dropped;
   ``--keep`` keeps it): 3,000 customers each with one order (1–3 lines of 300 products, which have related-products
   lists), the program on.  Timed: ``followups.on_order_placed`` for every order (what the receiver does after each
   checkout), then ``journey.send_due_messages`` sent to a real Celery worker (prefork, one process per core, on
   Redis: BENCH_REDIS_URL as in bench.outbox_throughput; started before the clock) that claims them in batches of
   100 and sends them — each with its personal voucher issued by the voucher service and up to four related
   products — through anymail's test backend (discarding), until the last one is sent.  Without Redis the batches
   are sent by 4 threads of this process instead (said in the table).
   Target: scheduling + sending ≤ 15 s.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

DB_NAME = "journey_bench_loyalty" + os.environ.get("BENCH_DB_SUFFIX", "")  # a suffix keeps parallel runs apart
MAILS = 3_000
PRODUCTS = 300
SELECT_TARGET = 1.0  # s
SEND_TARGET = 15.0  # s
BATCH = 100  # JOURNEY["SEND_BATCH_SIZE"]'s default
SENDERS = 4
BACKEND = "bench.mail.DiscardingTestBackend"


def demo_url(arg):
    if arg:
        return arg
    if os.environ.get("BENCH_DEMO_URL"):
        return os.environ["BENCH_DEMO_URL"]
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        base = "postgres://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(base)._replace(path="/journey_demo_full", query=""))


# 1. The win-back selection (child process, on the demo database) --------------------------------------------------
def selection():
    """Runs in a child pointed at the demo database; prints one JSON line."""
    from bench.common import use_database

    use_database(os.environ["DATABASE_URL"])
    from django.db import connection, transaction
    from django.db.models import Max
    from oscar.core.loading import get_model

    from journey.loyalty.followups import services as followups
    from journey.loyalty.followups.models import WinbackProgram

    Order = get_model("order", "Order")
    try:
        newest = Order.objects.aggregate(newest=Max("date_placed"))["newest"]
    except Exception as exc:  # noqa: BLE001 - no demo database (or not migrated): the row says why
        reason = str(exc).strip().splitlines()[-1].split("FATAL:")[-1].strip()[:60]
        print(json.dumps({"error": f"no full demo database ({reason})"}))
        return
    if newest is None:
        print(json.dumps({"error": "the demo database has no orders (run load_demo --size full)"}))
        return
    now = newest + timedelta(days=1)
    program = WinbackProgram(is_active=True, after_days=90, include_guests=True)  # not saved: nothing is written
    sql, params = followups.winback_candidates_sql(program, now)
    timings, rows = [], 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION READ ONLY")
        for _ in range(5):
            started = time.perf_counter()
            cursor.execute(sql, params)
            rows = len(cursor.fetchall())
            timings.append(time.perf_counter() - started)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"SELECT COUNT(*), COUNT(DISTINCT user_id) FROM {Order._meta.db_table}")  # noqa: S608
        orders, customers = cursor.fetchone()
    print(json.dumps({"median": statistics.median(timings), "best": min(timings), "rows": rows, "plan": plan,
                      "orders": orders, "customers": customers, "now": now.isoformat()}))


# 2. 3,000 post-purchase mails (this process, in its own database) -------------------------------------------------
def build(now):
    """Products with related lists, 3,000 customers with one order each (placed 25 hours ago).  Returns order ids."""
    from django.contrib.auth import get_user_model
    from oscar.core.loading import get_model

    from journey.loyalty.followups.models import PostPurchaseProgram
    from journey.related.models import ListKind, RelatedBuild, RelatedProduct, Source

    ProductClass = get_model("catalogue", "ProductClass")
    Product = get_model("catalogue", "Product")
    Partner = get_model("partner", "Partner")
    StockRecord = get_model("partner", "StockRecord")
    Order = get_model("order", "Order")
    Line = get_model("order", "Line")
    User = get_user_model()

    product_class = ProductClass.objects.create(name="Bench", slug="bench", track_stock=True)
    partner = Partner.objects.create(name="Bench partner", code="bench")
    products = Product.objects.bulk_create(
        Product(product_class=product_class, title=f"Bench product {i}", slug=f"bench-product-{i}")
        for i in range(PRODUCTS)
    )
    StockRecord.objects.bulk_create(
        StockRecord(product=p, partner=partner, partner_sku=f"BENCH-{p.pk}", price=Decimal(f"{1 + i % 9}.99"),
                    price_currency="USD", num_in_stock=1000)
        for i, p in enumerate(products)
    )
    build = RelatedBuild.objects.create(status=RelatedBuild.Status.LIVE)
    RelatedProduct.objects.bulk_create(
        RelatedProduct(build=build, product=p, related=products[(i + k) % PRODUCTS], kind=ListKind.BOUGHT_TOGETHER,
                       rank=k, score=1.0 / k, source=Source.COMPUTED)
        for i, p in enumerate(products) for k in range(1, 7)
    )
    users = User.objects.bulk_create(
        User(username=f"customer{i}", email=f"customer{i}@example.com", first_name=f"C{i}",
             password="!")  # noqa: S106 - an unusable password
        for i in range(MAILS)
    )
    placed = now - timedelta(hours=25)
    orders = Order.objects.bulk_create(
        Order(number=f"B{100000 + i}", currency="USD", total_incl_tax=Decimal("42.00"),
              total_excl_tax=Decimal("42.00"), shipping_incl_tax=Decimal("0"), shipping_excl_tax=Decimal("0"),
              shipping_method="Free", shipping_code="free", status="Pending", user=user, date_placed=placed)
        for i, user in enumerate(users)
    )
    lines = []
    for j, order in enumerate(orders):
        for k in range(1 + j % 3):
            product = products[(j * 7 + k * 31) % PRODUCTS]
            lines.append(Line(order=order, partner=partner, partner_name="Bench partner", product=product,
                              partner_sku=f"BENCH-{product.pk}", title=product.title, quantity=1,
                              line_price_incl_tax=Decimal("14.00"), line_price_excl_tax=Decimal("14.00"),
                              line_price_before_discounts_incl_tax=Decimal("14.00"),
                              line_price_before_discounts_excl_tax=Decimal("14.00"), status="Pending",
                              num_allocated=0))
    Line.objects.bulk_create(lines, batch_size=5000)
    program = PostPurchaseProgram.load()
    program.is_active = True
    program.delay_hours = 24
    program.save()
    return [o.pk for o in orders], len(lines) / len(orders)


def post_purchase(order_ids, worker=None, broker=""):
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from bench.common import QueryTimer, main_table, send_due_in_parallel
    from journey.core.models import Message, PersonalVoucher
    from journey.loyalty.followups import services as followups

    timer = QueryTimer(main_table)
    result = {}
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        for order_id in order_ids:
            followups.on_order_placed(order_id, language="en")
        result["schedule"] = time.perf_counter() - started
        result["schedule_queries"] = timer.queries
    ids = list(Message.objects.filter(tool="post_purchase").values_list("id", flat=True))
    started = time.perf_counter()
    if worker is not None:
        from bench.outbox_throughput import send_through

        run = send_through(worker, broker, ids, timeout=600)
        result["send"] = run["elapsed"]
    else:
        # Batches of 100 sent by 4 threads, as Celery's fan-out sends them; the threads' queries are not counted.
        send_due_in_parallel(timezone.now(), batch=BATCH, senders=SENDERS)
        result["send"] = time.perf_counter() - started
    result["sent"] = Message.objects.filter(tool="post_purchase", state=Message.State.SENT).count()
    result["vouchers"] = PersonalVoucher.objects.filter(purpose="post_purchase").count()
    # The demo shop holds 10 % of the program's customers out (docs/measurement.md): they get no mail, no voucher.
    result["held"] = Message.objects.filter(tool="post_purchase", state=Message.State.HELD_OUT).count()
    result["states"] = dict(Message.objects.values_list("state").annotate(n=Count("id")).order_by())
    result["top"] = sorted(((table, n, s) for table, (n, s) in timer.data.items()), key=lambda r: -r[2])[:6]
    return result


def worker_for(url):
    """A running Celery worker on the bench's Redis database (one process per core), or (None, reason)."""
    from bench.outbox_throughput import redis_url, start_worker, target_concurrency

    broker = redis_url()
    import redis

    try:
        client = redis.Redis.from_url(broker, socket_connect_timeout=3)
        size = client.dbsize()
        client.close()
    except redis.RedisError as exc:
        return None, broker, f"no Redis at {broker} ({exc})"
    if size:
        return None, broker, f"Redis database {broker} holds {size} keys"
    os.environ["REDIS_URL"] = broker
    return start_worker(url, broker, target_concurrency()), broker, ""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB_NAME} afterwards")
    parser.add_argument("--demo-url", default="", help="the full demo database (read-only)")
    parser.add_argument("--selection-child", action="store_true", help=argparse.SUPPRESS)
    args, _unknown = parser.parse_known_args()  # bench/run.py passes every script the same arguments
    global MAILS
    from bench.common import smoke

    if smoke():  # bench/run.py --smoke: runs end to end (the selection on the smoke database's tiny demo)
        MAILS = 30
    if args.selection_child:
        selection()
        return

    from bench.common import (
        create_database,
        drop_database,
        machine_load,
        postgres_available,
        run_child,
        table,
        use_database,
        verdict,
    )

    problem = postgres_available()
    if problem:
        print(f"\nLoyalty follow-ups: SKIPPED (needs PostgreSQL: {problem})")
        return
    load_before = machine_load()

    # 1. The win-back selection on the demo data.
    pick = run_child("bench.loyalty_followups", "shop.settings", "--selection-child",
                     env={"DATABASE_URL": demo_url(args.demo_url)})

    # 2. 3,000 post-purchase mails in a fresh database.
    started = time.perf_counter()
    url = create_database(DB_NAME)
    setup = time.perf_counter() - started
    os.environ["EMAIL_BACKEND"] = BACKEND
    try:
        use_database(url)
        import warnings

        from django.utils import timezone

        warnings.filterwarnings("ignore", message="update is not implemented")  # haystack's simple backend
        started = time.perf_counter()
        order_ids, lines_per_order = build(timezone.now())
        data = time.perf_counter() - started
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as a shop's database is, after its bulk load
        worker, broker, no_worker = worker_for(url)
        try:
            sent = post_purchase(order_ids, worker, broker)
        finally:
            if worker is not None:
                from bench.outbox_throughput import stop_worker

                stop_worker(worker)
                import redis

                redis.Redis.from_url(broker).flushdb()
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(DB_NAME)

    print("\nLoyalty follow-ups: win-back selection and post-purchase mails")
    rows = []
    if "error" in pick:
        rows.append(["win-back candidate query (demo data)", "SKIPPED", pick["error"], "", "≤ 1 s", ""])
    else:
        rows.append([f"win-back candidate query ({pick['orders']:,} orders, {pick['customers']:,} customers)",
                     f"{pick['rows']:,} candidates", f"{pick['median'] * 1000:.0f} ms (best {pick['best'] * 1000:.0f})",
                     "1", "≤ 1 s", verdict(pick["median"] <= SELECT_TARGET)])
    total = sent["schedule"] + sent["send"]
    rows.append([f"schedule {MAILS:,} post-purchase mails (on_order_placed each)", f"{MAILS:,} orders",
                 f"{sent['schedule']:.1f} s", f"{sent['schedule_queries'] / MAILS:.1f}", "", ""])
    from bench.outbox_throughput import target_concurrency

    how = (f"{SENDERS} threads of this process: {no_worker}" if no_worker else
           f"Celery worker x{target_concurrency()} on Redis")
    rows.append([f"send them, each with a voucher + related products ({how})",
                 f"{sent['sent']:,} sent, {sent['vouchers']:,} vouchers", f"{sent['send']:.1f} s", "", "", ""])
    ok = total <= SEND_TARGET and sent["sent"] + sent["held"] == MAILS and sent["vouchers"] == sent["sent"]
    rows.append(["schedule + send", "", f"{total:.1f} s", "", f"≤ {SEND_TARGET:.0f} s", verdict(ok)])
    print(table(["Measure", "Size", "Time", "Queries / item", "Target", "Result"], rows))
    print(f"\nSet-up: database {setup:.1f} s, data {data:.1f} s ({lines_per_order:.1f} lines per order); "
          f"outbox states {sent['states']}")
    print("Most time by table: " + ", ".join(f"{t} {n:,} q {s:.1f} s" for t, n, s in sent["top"]))
    if "plan" in pick:
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the win-back candidate query (now = {pick['now']}):")
        print(pick["plan"])
    print(f"\nMachine: {load_before} before, {os.getloadavg()[0]:.1f} after (noisy: the machine is shared)")


if __name__ == "__main__":
    sys.exit(main())
