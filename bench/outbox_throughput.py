"""Outbox throughput: 10,000 due recovery mails rendered and sent by a real Celery worker (prefork, 2 processes) on
Redis, through anymail's test backend.

Target: >= 200 mails/s on a 2-core machine, from the moment ``journey.send_due_messages`` is sent until every row is
``sent``.  Also reported: the render / send / rest split (from the worker's SendReports and from ``send_claimed`` run
in this process on 500 more messages, with its queries per mail), and the in-process rate of the ``journey_tick``
path (``outbox.send_due(via="tick")``) on 2,000 more messages.

Needs PostgreSQL (as bench.recovery_scan) and Redis: BENCH_REDIS_URL, default redis://<REDIS_URL's host or
127.0.0.1:6379>/7 — a database nobody else uses; the bench refuses a non-empty one and flushes it at the end.
Creates, migrates and drops the database ``journey_bench_outbox`` (``--keep`` keeps it).

Each message has its own guest basket (1-4 lines of 300 products) and a BasketActivity 'in_sequence' with the
message's cycle, so the send-time eligibility re-check passes and every mail is really rendered.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DB_NAME = "journey_bench_outbox"
WORKER_MESSAGES = 10_000
SAMPLE_MESSAGES = 500
TICK_MESSAGES = 2_000
PRODUCTS = 300
TARGET_RATE = 200  # mails/s
BACKEND = "bench.mail.DiscardingTestBackend"


def redis_url():
    url = os.environ.get("BENCH_REDIS_URL")
    if url:
        return url
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return urlunsplit(urlsplit(base)._replace(path="/7"))


# Data ----------------------------------------------------------------------------------------------------------
def build(counts, now):
    """Products, then per message a basket with lines, an activity row and the due Message.  Returns id lists."""
    from oscar.core.loading import get_model

    from journey.core.models import Message
    from journey.recovery.models import BasketActivity, RecoveryStep
    from journey.recovery.services import MAIL_KIND

    ProductClass = get_model("catalogue", "ProductClass")
    Product = get_model("catalogue", "Product")
    Partner = get_model("partner", "Partner")
    StockRecord = get_model("partner", "StockRecord")
    Basket = get_model("basket", "Basket")
    Line = get_model("basket", "Line")

    product_class = ProductClass.objects.create(name="Bench", slug="bench", track_stock=True)
    partner = Partner.objects.create(name="Bench partner", code="bench")
    products = Product.objects.bulk_create(
        Product(product_class=product_class, title=f"Bench product {i}", slug=f"bench-product-{i}")
        for i in range(PRODUCTS)
    )
    records = StockRecord.objects.bulk_create(
        StockRecord(product=p, partner=partner, partner_sku=f"BENCH-{p.pk}", price=Decimal(f"{1 + i % 9}.99"),
                    price_currency="USD", num_in_stock=1000)
        for i, p in enumerate(products)
    )
    steps = list(RecoveryStep.objects.order_by("position"))
    total = sum(counts.values())
    baskets = Basket.objects.bulk_create([Basket(status=Basket.OPEN) for _ in range(total)], batch_size=2000)
    lines = []
    for j, basket in enumerate(baskets):
        for k in range(1 + j % 4):
            record = records[(j * 7 + k * 31) % PRODUCTS]
            lines.append(Line(basket=basket, line_reference=f"{record.product_id}_{record.pk}",
                              product_id=record.product_id, stockrecord=record, quantity=1 + k % 2,
                              price_currency="USD", price_excl_tax=record.price, price_incl_tax=record.price))
    Line.objects.bulk_create(lines, batch_size=5000)
    anchor = now - timedelta(hours=2)
    activities = BasketActivity.objects.bulk_create([
        BasketActivity(basket=basket, email=f"shopper{j}@example.com", email_source=BasketActivity.Source.CHECKOUT,
                       email_captured_at=anchor, last_activity_at=anchor, state=BasketActivity.State.IN_SEQUENCE,
                       cycle=1, sequence_anchor_at=anchor, sequence_started_at=now - timedelta(hours=1))
        for j, basket in enumerate(baskets)
    ], batch_size=5000)
    messages, groups, j = [], {}, 0
    for group, n in counts.items():
        # Only the worker's messages are due now; the others wait until their measurement.
        due_at = now - timedelta(minutes=1) if group == "worker" else now + timedelta(days=1)
        for _ in range(n):
            activity, step = activities[j], steps[j % len(steps)]
            messages.append(Message(
                tool="recovery", kind=MAIL_KIND, subject_key=f"recovery:basket:{activity.basket_id}:cycle:1",
                step=step.position, to_email=activity.email, due_at=due_at, marketing=True,
                context={"activity_id": activity.pk, "cycle": 1, "step_id": step.pk, "anchor": anchor.isoformat()},
            ))
            j += 1
    created = Message.objects.bulk_create(messages, batch_size=5000)
    start = 0
    for group, n in counts.items():
        groups[group] = [m.pk for m in created[start:start + n]]
        start += n
    return groups, len(lines) / total


# The worker ----------------------------------------------------------------------------------------------------
class Worker:
    def __init__(self, env, log_path):
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bench.outbox_worker", "worker", "--pool", "prefork",
             "--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=Path(__file__).resolve().parent.parent, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self):
        return Path(self.log_path).read_text(errors="replace")

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.text():
                return
            if self.process.poll() is not None:
                sys.exit("the Celery worker exited:\n" + self.text()[-4000:])
            time.sleep(0.2)
        sys.exit("the Celery worker did not get ready:\n" + self.text()[-4000:])

    def children(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def children_memory(self):
        """Peak and current RSS (MB) of the pool processes."""
        result = []
        for pid in self.children():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            kb = {k: int(v.split()[0]) for k, v in re.findall(r"^(VmHWM|VmRSS):\s+(.+)$", status, re.M)}
            result.append((kb.get("VmHWM", 0) / 1024, kb.get("VmRSS", 0) / 1024))
        return result

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.log.close()


def run_worker(url, broker, ids, timeout):
    from celery import Celery
    from django.db.models import Count

    from journey.core.models import Message

    def states():
        return dict(ours.values_list("state").annotate(n=Count("id")).order_by())

    figures = tempfile.NamedTemporaryFile(prefix="bench-outbox-", suffix=".jsonl", delete=False)  # noqa: SIM115
    figures.close()
    log_path = tempfile.mktemp(prefix="bench-outbox-worker-", suffix=".log")  # noqa: S306 - a log file we create
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "DATABASE_URL": url, "REDIS_URL": broker,
           "EMAIL_BACKEND": BACKEND, "DEBUG": "false", "BENCH_FIGURES_FILE": figures.name}
    worker = Worker(env, log_path)
    try:
        worker.wait_ready()
        trigger = Celery("bench", broker=broker)
        ours = Message.objects.filter(id__gte=min(ids), id__lte=max(ids))
        pool_cpu, db_cpu = cpu_seconds(worker.children()), postgres_cpu()
        started = time.perf_counter()
        trigger.send_task("journey.send_due_messages")
        sent, deadline, first_sent_at = 0, time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            counts = states()
            sent = counts.get("sent", 0)
            if sent and first_sent_at is None:
                first_sent_at = time.perf_counter() - started
            if sent + counts.get("failed", 0) + counts.get("cancelled", 0) + counts.get("suppressed", 0) >= len(ids):
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        db_cpu_after = postgres_cpu()
        cpu = {"pool": sum(cpu_seconds(worker.children()).values()) - sum(pool_cpu.values()),
               "postgres": None if db_cpu is None or db_cpu_after is None else db_cpu_after - db_cpu}
        memory = worker.children_memory()
        trigger.close()
    finally:
        worker.stop()
    batches = [json.loads(line) for line in Path(figures.name).read_text().splitlines() if line.strip()]
    os.unlink(figures.name)
    log = worker.text()
    dispatch = re.search(r"journey\.send_due_messages\[[^\]]+\] succeeded in ([\d.]+)s", log)
    final = states()
    if final.get("sent", 0) < len(ids):
        print(f"worker log (tail):\n{log[-3000:]}", file=sys.stderr)
    os.unlink(log_path)
    return {"elapsed": elapsed, "sent": final.get("sent", 0), "states": final, "batches": batches, "cpu": cpu,
            "memory": memory, "first_sent_at": first_sent_at,
            "dispatch_seconds": float(dispatch[1]) if dispatch else None}


def cpu_seconds(pids, *, children=False):
    """User + system CPU seconds of each process in ``pids`` that still runs (with ``children``: plus that of its
    exited, reaped children)."""
    tick = os.sysconf("SC_CLK_TCK")
    result = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
        result[pid] = used / tick
    return result


def postgres_cpu():
    """CPU seconds the PostgreSQL server has used so far, if it runs on this machine (else None): its processes, plus
    the backends that have exited (counted in the postmaster's children time).  All databases of the server."""
    out = subprocess.run(["ps", "-C", "postgres", "-o", "pid="], capture_output=True, text=True)
    pids = [int(pid) for pid in out.stdout.split()]
    return sum(cpu_seconds(pids, children=True).values()) if pids else None


# In-process measurements ---------------------------------------------------------------------------------------
def query_label(sql):
    from bench.common import main_table

    return f"{sql.lstrip()[:6].upper()} {main_table(sql)}"


def make_due(ids):
    from django.utils import timezone

    from journey.core.models import Message

    Message.objects.filter(id__in=ids).update(due_at=timezone.now() - timedelta(seconds=1))


def run_sample(ids):
    from django.db import connection

    from bench.common import QueryTimer
    from journey.core import outbox

    make_due(ids)
    claimed = outbox.claim_due(len(ids), only_ids=ids)
    counter = QueryTimer(query_label)
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        report = outbox.send_claimed(claimed)
        elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "sent": report.sent, "render": report.render_seconds, "send": report.send_seconds,
            "queries": counter.queries, "sql_seconds": counter.seconds,
            "by_table": {k: list(v) for k, v in counter.data.items()}}


def run_tick(ids):
    from journey.core import outbox
    from journey.core.models import Message

    make_due(ids)
    scheduled = Message.objects.filter(id__in=ids, state=Message.State.SCHEDULED)
    started, runs = time.perf_counter(), 0
    while scheduled.exists() and runs < 20:  # cron calls it again next minute; the bench calls it at once
        outbox.send_due(via="tick")
        runs += 1
    elapsed = time.perf_counter() - started
    # Handled: sent, or held out by a tool's holdout (the demo shop holds 10 % of each mail tool's people out).
    return {"elapsed": elapsed, "sent": Message.objects.filter(id__in=ids, state__in=["sent", "held_out"]).count(),
            "runs": runs}


# Report ----------------------------------------------------------------------------------------------------------
def report(worker, sample, tick, lines_per_basket, setup, total, table, verdict):
    batches = worker["batches"]
    render = sum(b["render"] for b in batches)
    send = sum(b["send"] for b in batches)
    wall = sum(b["wall"] for b in batches)
    mailed = sum(b["sent"] for b in batches) or 1
    rate = worker["sent"] / worker["elapsed"]
    ok = worker["sent"] == WORKER_MESSAGES and rate >= TARGET_RATE

    def per_mail(seconds, n):
        return f"{seconds / max(n, 1) * 1000:.1f}"

    rows = [
        ["Celery worker, prefork x2, Redis", f"{worker['sent']:,} / {WORKER_MESSAGES:,}", f"{worker['elapsed']:.1f}",
         f"{rate:.0f}", per_mail(render, mailed), per_mail(send, mailed), per_mail(wall - render - send, mailed),
         f">= {TARGET_RATE}/s", verdict(ok)],
        ["send_claimed in this process (sample)", f"{sample['sent']:,} / {SAMPLE_MESSAGES:,}",
         f"{sample['elapsed']:.1f}", f"{sample['sent'] / sample['elapsed']:.0f}", per_mail(sample["render"],
                                                                                             sample["sent"]),
         per_mail(sample["send"], sample["sent"]),
         per_mail(sample["elapsed"] - sample["render"] - sample["send"], sample["sent"]), "(comparison)", ""],
        ["journey_tick path: send_due(via='tick')", f"{tick['sent']:,} / {TICK_MESSAGES:,}", f"{tick['elapsed']:.1f}",
         f"{tick['sent'] / tick['elapsed']:.0f}", "", "", "", "(comparison)", ""],
    ]
    print(f"\nOutbox throughput (PostgreSQL + Redis, anymail test backend, {lines_per_basket:.1f} lines per basket; "
          f"target >= {TARGET_RATE} mails/s through the worker)")
    print(table(["path", "sent", "seconds", "mails/s", "render ms/mail", "send ms/mail", "rest ms/mail",
                 "target", ""], rows))
    busy = wall / (2 * worker["elapsed"])
    memory = ", ".join(f"{peak:.0f} MB peak / {now:.0f} MB now" for peak, now in worker["memory"])
    print(f"\nWorker: {len(batches)} batches of <= 100; first mail sent {worker['first_sent_at'] or 0:.2f} s after the "
          f"trigger; dispatching (send_due_messages) took {worker['dispatch_seconds'] or 0:.2f} s; pool processes "
          f"busy in send_claimed {busy:.0%} of the time; pool RSS: {memory}.")
    cpu = worker["cpu"]
    postgres = cpu["postgres"] or 0.0
    print(f"CPU while the worker sent: pool processes {cpu['pool']:.0f} s, PostgreSQL server (all its databases) "
          f"{'n/a (not on this machine)' if cpu['postgres'] is None else f'{postgres:.0f} s'}, of "
          f"{os.cpu_count() * worker['elapsed']:.0f} core-seconds on {os.cpu_count()} cores "
          f"({(cpu['pool'] + postgres) / mailed * 1000:.1f} ms of CPU per mail).")
    print("'render' = build_context + templates (SendReport.render_seconds); 'send' = storing the rendered mail, the "
          "ESP call (SendReport.send_seconds); 'rest' = loading the batch, suppression check, marking sent, signals.")
    n = sample["sent"] or 1
    top = sorted(sample["by_table"].items(), key=lambda kv: -kv[1][1])[:12]
    print(f"\nQueries per mail in the sample: {sample['queries'] / n:.1f} ({sample['sql_seconds'] / n * 1000:.1f} ms "
          f"of {sample['elapsed'] / n * 1000:.1f} ms per mail in SQL round trips), the most expensive:")
    print(table(["query", "per mail", "ms per mail"],
                [[name, f"{c / n:.2f}", f"{s / n * 1000:.2f}"] for name, (c, s) in top]))
    print("\nSet-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in setup.items()) + f"; whole bench {total:.0f} s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB_NAME} afterwards")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the worker")
    args, _unknown = parser.parse_known_args()  # bench/run.py passes every script the same arguments
    global WORKER_MESSAGES, SAMPLE_MESSAGES, TICK_MESSAGES
    from bench.common import smoke

    if smoke():  # bench/run.py --smoke: runs end to end, says nothing about speed
        WORKER_MESSAGES, SAMPLE_MESSAGES, TICK_MESSAGES = 40, 10, 10

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
        print(f"\nOutbox throughput: SKIPPED (needs PostgreSQL: {problem})")
        return
    broker = redis_url()
    import redis

    try:
        client = redis.Redis.from_url(broker, socket_connect_timeout=3)
        size = client.dbsize()
    except redis.RedisError as exc:
        print(f"\nOutbox throughput: SKIPPED (needs Redis at {broker}: {exc})")
        return
    if size:
        sys.exit(f"Redis database {broker} holds {size} keys: set BENCH_REDIS_URL to a database nobody uses")

    load_before = machine_load()
    bench_started = time.perf_counter()
    started = time.perf_counter()
    url = create_database(DB_NAME)
    setup = {"create + migrate": time.perf_counter() - started}
    os.environ["EMAIL_BACKEND"] = BACKEND
    os.environ["REDIS_URL"] = broker
    try:
        use_database(url)
        import warnings

        from django.utils import timezone

        warnings.filterwarnings("ignore", message="update is not implemented")  # haystack's simple backend
        started = time.perf_counter()
        groups, lines_per_basket = build({"worker": WORKER_MESSAGES, "sample": SAMPLE_MESSAGES,
                                          "tick": TICK_MESSAGES}, timezone.now())
        setup["data"] = time.perf_counter() - started
        worker = run_worker(url, broker, groups["worker"], args.timeout)
        sample = run_sample(groups["sample"])
        tick = run_tick(groups["tick"])
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(DB_NAME)
        client.flushdb()
        client.close()
    report(worker, sample, tick, lines_per_basket, setup, time.perf_counter() - bench_started, table, verdict)
    print(f"Machine: {load_before} before, {os.getloadavg()[0]:.1f} after")
    if worker["sent"] < WORKER_MESSAGES:
        print(f"\nNot all sent: {worker['states']}")


if __name__ == "__main__":
    main()
