"""Helpers shared by the benchmark scripts: percentiles, tables, child processes."""

import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A browser's User-Agent: journey records nothing for requests without one (bots), so a bench client without it
# would measure a shop where journey does nothing.
BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def p50(samples):
    return statistics.median(samples)


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


def run_child(module, settings, *args, env=None):
    """Run `python -m module args` with DJANGO_SETTINGS_MODULE=settings; return its last stdout line as JSON."""
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings, "DEBUG": "false", **(env or {})}
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=full_env, capture_output=True,
                            text=True)
    if result.returncode != 0:
        sys.exit(f"{module} failed under {settings}:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# PostgreSQL and Redis for the benchmarks that build their own database -----------------------------------------
BENCH_DB_PREFIX = "journey_bench_"


def postgres_url(dbname):
    """URL of database ``dbname`` on the benchmark's PostgreSQL server: BENCH_POSTGRES_URL, else the server of a
    postgres DATABASE_URL, else postgres://postgres@127.0.0.1:5432."""
    from urllib.parse import urlsplit, urlunsplit

    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}", query=""))


def _admin():
    import psycopg

    return psycopg.connect(postgres_url("postgres"), autocommit=True, connect_timeout=5)


def postgres_available():
    try:
        _admin().close()
    except Exception as exc:  # noqa: BLE001 - any reason means "skip"
        return str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return ""


def drop_database(name):
    assert name.startswith(BENCH_DB_PREFIX), name  # never anything but our own scratch databases
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(name):
    """A fresh, migrated database ``name`` (dropped first if a previous run left it); returns its URL."""
    drop_database(name)
    template = os.environ.get("BENCH_TEMPLATE_DB", "")
    if template:  # bench/run.py --smoke migrated one template: a copy takes seconds, a migration minutes
        assert template.startswith(BENCH_DB_PREFIX), template
        with _admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return postgres_url(name)
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url(name)
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "shop.settings"}
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        drop_database(name)
        sys.exit(f"migrating {name} failed:\n{result.stdout}\n{result.stderr}")
    return url


def use_database(url):
    """Point this process's Django at ``url`` and set Django up (call before importing models)."""
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()


def rss_mb():
    """Current resident set size of this process (MB)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb():
    """Peak resident set size of this process so far (MB; Linux reports ru_maxrss in KB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def smoke():
    """``bench/run.py --smoke`` (or BENCH_SMOKE=1): tiny sizes, every bench runs end to end, targets not enforced."""
    return os.environ.get("BENCH_SMOKE", "") not in ("", "0") or "--smoke" in sys.argv[1:]


def verdict(ok):
    """The last column beside a figure and its target.  ``MISSED`` makes ``bench/run.py`` (``make bench``) exit
    non-zero; in smoke mode a miss is shown but not enforced (tiny sizes say nothing about speed)."""
    if ok:
        return "ok"
    return "missed (smoke: not enforced)" if smoke() else "MISSED"


def p95(samples):
    """The 95th percentile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, -(-95 * len(ordered) // 100) - 1))]


def main_table(sql):
    """The table a Django-generated statement is about: the first selected column's table, else FROM/INTO/UPDATE."""
    import re

    match = re.match(r'\s*SELECT\s+(?:DISTINCT\s+)?"(\w+)"\.', sql) or \
        re.search(r'(?:FROM|INTO|UPDATE) "(\w+)"', sql)
    return match[1] if match else "?"


def machine_load():
    """One line on how busy the machine was (other processes skew timings on a 2-core box)."""
    return f"{os.cpu_count()} cores, 1-min load average {os.getloadavg()[0]:.1f}"


class QueryTimer:
    """A ``connection.execute_wrapper`` that counts and times queries by ``label(sql)`` (into ``self.data``)."""

    def __init__(self, label):
        self.label = label
        self.data = defaultdict(lambda: [0, 0.0])

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = self.data[self.label(sql)]
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    @property
    def queries(self):
        return sum(n for n, _s in self.data.values())

    @property
    def seconds(self):
        return sum(s for _n, s in self.data.values())


def send_due_in_parallel(now, *, batch=100, senders=4):
    """What ``send_due_messages`` does from Celery: claim the due mails in batches and send the batches in parallel,
    here in ``senders`` threads of this process (each with its own connection), standing in for a worker's
    processes.  Returns the outbox's SendReport."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from journey.core import outbox

    batches = []
    while ids := outbox.claim_due(batch, now=now):
        batches.append(ids)

    def send(ids):
        try:
            return outbox.send_claimed(ids)
        finally:
            connection.close()

    report = outbox.SendReport()
    with ThreadPoolExecutor(senders) as pool:
        for part in pool.map(send, batches):
            report.add(part)
    return report
