"""Outbox throughput, every mail kind: due mails of each kind (recovery, birthday, post-purchase, win-back — the
kinds of ``bench.mail_kinds.KINDS``) rendered and sent by a real Celery worker (prefork) on Redis through anymail's test
backend, with 1, 2 and 4 worker processes side by side.

Target: >= 200 mails/s for every kind with as many worker processes as the machine has cores (2 here), from the
moment ``journey.send_due_messages`` is sent until every row of the group is ``sent``.  Also reported per kind: the
render / send / rest split per mail (from the worker's SendReports) and, from ``send_claimed`` run in this process on
one batch, the queries a batch of 100 takes (a kind's ``prepare_batch`` builds all its contexts with a fixed
number of queries; the rest is two marks per mail, in one commit).

Needs PostgreSQL (as bench.recovery_scan) and Redis: BENCH_REDIS_URL, default redis://<REDIS_URL's host or
127.0.0.1:6379>/7 — a database nobody else uses; the bench refuses a non-empty one and flushes it at the end
(bench/run.py claims a free one for its run and passes it in BENCH_REDIS_URL).
Creates, migrates and drops the database ``journey_bench_outbox`` (+ BENCH_DB_SUFFIX; ``--keep`` keeps it).
``--mails N`` mails per kind and worker size (default 2,000), ``--kinds recovery,birthday`` a subset.
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
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DB_NAME = "journey_bench_outbox" + os.environ.get("BENCH_DB_SUFFIX", "")  # a suffix keeps parallel runs apart
WORKER_MESSAGES = 2_000  # per kind and worker size
SAMPLE_MESSAGES = 100  # one batch (SEND_BATCH_SIZE's default), sent in this process
CONCURRENCY = (1, 2, 4)
TARGET_RATE = 200  # mails/s
BACKEND = "bench.mail.DiscardingTestBackend"


def redis_url():
    url = os.environ.get("BENCH_REDIS_URL")
    if url:
        return url
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return urlunsplit(urlsplit(base)._replace(path="/7"))


def target_concurrency():
    """The worker size the target applies to: one process per core (at most the largest size measured)."""
    return min(max(os.cpu_count() or 1, 1), max(CONCURRENCY))


# The worker ----------------------------------------------------------------------------------------------------
class Worker:
    """``celery worker --pool prefork --concurrency N`` of the demo shop (bench.outbox_worker: it records each
    batch's SendReport figures in BENCH_FIGURES_FILE)."""

    def __init__(self, env, log_path, concurrency=2):
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bench.outbox_worker", "worker", "--pool", "prefork",
             "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip", "--without-mingle",
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


def start_worker(url, broker, concurrency):
    """A ready worker and the file its processes write their batch figures to."""
    figures = tempfile.NamedTemporaryFile(prefix="bench-outbox-", suffix=".jsonl", delete=False)  # noqa: SIM115
    figures.close()
    log_path = tempfile.mktemp(prefix="bench-outbox-worker-", suffix=".log")  # noqa: S306 - a log file we create
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "DATABASE_URL": url, "REDIS_URL": broker,
           "EMAIL_BACKEND": BACKEND, "DEBUG": "false", "BENCH_FIGURES_FILE": figures.name}
    worker = Worker(env, log_path, concurrency)
    worker.figures = figures.name
    try:
        worker.wait_ready()
    except BaseException:
        stop_worker(worker)
        raise
    return worker


def stop_worker(worker):
    worker.stop()
    for path in (worker.figures, worker.log_path):
        if os.path.exists(path):
            os.unlink(path)


def send_through(worker, broker, ids, timeout):
    """Make ``ids`` due, send ``journey.send_due_messages`` and wait until every one is sent (or closed): the
    rate and the worker's batch figures."""
    from celery import Celery
    from django.db.models import Count

    from journey.core.models import Message

    ours = Message.objects.filter(id__in=ids)

    def states():
        return dict(ours.values_list("state").annotate(n=Count("id")).order_by())

    Path(worker.figures).write_text("")
    make_due(ids)
    trigger = Celery("bench", broker=broker)
    pool_cpu = cpu_seconds(worker.children())
    started = time.perf_counter()
    trigger.send_task("journey.send_due_messages")
    sent, deadline, counts = 0, time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        counts = states()
        sent = counts.get("sent", 0)
        if sum(n for state, n in counts.items() if state not in ("scheduled", "sending")) >= len(ids):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    cpu = sum(cpu_seconds(worker.children()).values()) - sum(pool_cpu.values())
    trigger.close()
    batches = []
    settle = time.monotonic() + 5  # a process writes its batch's line just after the batch's last row is marked
    while time.monotonic() < settle:
        batches = [json.loads(line) for line in Path(worker.figures).read_text().splitlines() if line.strip()]
        if sum(b["ids"] for b in batches) >= len(ids):
            break
        time.sleep(0.05)
    if sent < len(ids):
        print(f"worker log (tail):\n{worker.text()[-3000:]}", file=sys.stderr)
    return {"elapsed": elapsed, "sent": sent, "states": counts, "batches": batches, "cpu": cpu,
            "rate": sent / elapsed if elapsed else 0.0}


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


# In-process measurements ---------------------------------------------------------------------------------------
def query_label(sql):
    from bench.common import main_table

    return f"{sql.lstrip()[:6].upper()} {main_table(sql)}"


def make_due(ids):
    from django.utils import timezone

    from journey.core.models import Message

    Message.objects.filter(id__in=ids).update(due_at=timezone.now() - timedelta(seconds=1))


def run_sample(ids):
    """One batch sent by ``send_claimed`` in this process: its time split and its queries."""
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


# Report ----------------------------------------------------------------------------------------------------------
def report(kinds, runs, samples, setup, total, table, verdict):
    target_n = target_concurrency()
    rows, ok_all = [], True
    for kind in kinds:
        mine = runs[kind.label]
        cells = []
        for n in CONCURRENCY:
            run = mine.get(n)
            cells.append(f"{run['rate']:.0f}" if run else "-")
        judged = mine.get(target_n)
        ok = bool(judged) and judged["sent"] == WORKER_MESSAGES and judged["rate"] >= TARGET_RATE
        ok_all &= ok
        batches = judged["batches"] if judged else []
        mailed = sum(b["sent"] for b in batches) or 1
        render = sum(b["render"] for b in batches) / mailed * 1000
        send = sum(b["send"] for b in batches) / mailed * 1000
        rest = sum(b["wall"] - b["render"] - b["send"] for b in batches) / mailed * 1000
        cpu = judged["cpu"] / max(judged["sent"], 1) * 1000 if judged else 0.0
        sample = samples[kind.label]
        rows.append([kind.label, *cells, f"{render:.1f} / {send:.1f} / {rest:.1f}", f"{cpu:.1f}",
                     f"{sample['queries']} ({sample['sent']} sent)",
                     f">= {TARGET_RATE}/s with {target_n}", verdict(ok)])
    print(f"\nOutbox throughput by mail kind: {WORKER_MESSAGES:,} mails per kind and worker size through a real Celery "
          f"worker (prefork) on Redis, PostgreSQL, anymail's test backend")
    print(table(["kind", *[f"mails/s x{n}" for n in CONCURRENCY], f"render / send / rest ms per mail (x{target_n})",
                 "worker CPU ms/mail", f"queries, batch of {SAMPLE_MESSAGES}", "target", ""], rows))
    print("\n'render' = the batch's contexts (prepare_batch) + templates; 'send' = storing the rendered mail, the ESP "
          "call; 'rest' = loading the batch, suppression, send gates, marking sent, signals.  'x N' = N worker "
          "processes; the target applies to one per core.  Queries: send_claimed of one batch in this process "
          "(a fixed number per batch, plus two UPDATEs in one commit per mail: its 'call started' and 'sent' marks).")
    for kind in kinds:
        sample = samples[kind.label]
        top = sorted(sample["by_table"].items(), key=lambda kv: -kv[1][0])[:8]
        print(f"  {kind.label}: " + ", ".join(f"{name} x{c}" for name, (c, _s) in top))
    print("\nSet-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in setup.items()) + f"; whole bench {total:.0f} s")
    return ok_all


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB_NAME} afterwards")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the worker, per run")
    parser.add_argument("--mails", type=int, default=0, help="mails per kind and worker size")
    parser.add_argument("--kinds", default="", help="only these kinds (labels, comma-separated)")
    args, _unknown = parser.parse_known_args()  # bench/run.py passes every script the same arguments
    global WORKER_MESSAGES, SAMPLE_MESSAGES
    from bench.common import smoke

    if smoke():  # bench/run.py --smoke: runs end to end, says nothing about speed
        WORKER_MESSAGES, SAMPLE_MESSAGES = 20, 10
    if args.mails:
        WORKER_MESSAGES = args.mails

    from django.utils.module_loading import import_string

    from bench.common import (
        create_database,
        drop_database,
        flush_besides_claim,
        machine_load,
        postgres_available,
        redis_keys_besides_claim,
        table,
        use_database,
        verdict,
    )
    from bench.mail_kinds import KINDS

    kinds = [k for k in KINDS if not args.kinds or k.label in args.kinds.split(",")]
    problem = postgres_available()
    if problem:
        print(f"\nOutbox throughput: SKIPPED (needs PostgreSQL: {problem})")
        return
    broker = redis_url()
    import redis

    try:
        client = redis.Redis.from_url(broker, socket_connect_timeout=3)
        size = redis_keys_besides_claim(client)
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
    runs, samples, loads = {k.label: {} for k in kinds}, {}, []
    try:
        use_database(url)
        import warnings

        from journey.core.experiments.assign import ensure_all, set_share

        # This bench measures sending: no one is held out (the demo's holdouts would close 10 % of each kind unsent).
        for experiment in ensure_all():
            set_share(experiment.key, 0)

        from django.utils import timezone

        from bench import mail_kinds

        warnings.filterwarnings("ignore", message="update is not implemented")  # haystack's simple backend
        started = time.perf_counter()
        now = timezone.now()
        catalogue = mail_kinds.catalogue()
        groups = {}
        per_kind = WORKER_MESSAGES * len(CONCURRENCY) + SAMPLE_MESSAGES
        for kind in kinds:
            ids = sorted(import_string(kind.build)(per_kind, now, catalogue))
            assert len(ids) == per_kind, (kind.label, len(ids))
            groups[kind.label] = ids
        setup["data"] = time.perf_counter() - started
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        for kind in kinds:
            samples[kind.label] = run_sample(groups[kind.label][:SAMPLE_MESSAGES])
        for i, n in enumerate(CONCURRENCY):
            worker = start_worker(url, broker, n)
            try:
                for kind in kinds:
                    first = SAMPLE_MESSAGES + i * WORKER_MESSAGES
                    ids = groups[kind.label][first:first + WORKER_MESSAGES]
                    runs[kind.label][n] = send_through(worker, broker, ids, args.timeout)
                    loads.append(os.getloadavg()[0])
            finally:
                stop_worker(worker)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(DB_NAME)
        flush_besides_claim(client)
        client.close()
    report(kinds, runs, samples, setup, time.perf_counter() - bench_started, table, verdict)
    print(f"Machine: {load_before} before; 1-min load average after each run: "
          + ", ".join(f"{load:.1f}" for load in loads))
    for kind in kinds:
        for n, run in runs[kind.label].items():
            if run["sent"] < WORKER_MESSAGES:
                print(f"Not all sent ({kind.label}, x{n}): {run['states']}")


if __name__ == "__main__":
    main()
