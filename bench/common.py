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


def run_suffix():
    """``bench/run.py`` gives each run a unique suffix (BENCH_RUN_SUFFIX) for the scratch databases and files it and
    its scripts create, so that two runs at once (the SQLite and the PostgreSQL CI jobs, two checkouts) never use
    the same ones."""
    return os.environ.get("BENCH_RUN_SUFFIX", "")


def scratch_name(name):
    """``name`` with this run's suffix (once; PostgreSQL names are at most 63 bytes)."""
    suffix = run_suffix()
    if not suffix or name.endswith(suffix):
        return name
    return name[: 63 - len(suffix)] + suffix


def drop_database(name):
    name = scratch_name(name)
    assert name.startswith(BENCH_DB_PREFIX), name  # never anything but our own scratch databases
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(name):
    """A fresh, migrated database ``name`` (with this run's suffix: :func:`scratch_name`; dropped first if a
    previous run left it); returns its URL."""
    name = scratch_name(name)
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


REDIS_CLAIM_KEY = "journey:bench:claim"
REDIS_SCRATCH_DBS = range(15, 7, -1)  # Redis's default 16 databases; the low numbers are the developers' own


def claim_redis_db(base_url):
    """An empty Redis database for this run, claimed with a key (``REDIS_CLAIM_KEY``, expiring in 2 h) so that a
    second run at the same time takes another one.  Returns (its URL, a function releasing it: flushes it), or
    (None, None) when Redis does not answer or every scratch database is taken."""
    from urllib.parse import urlsplit, urlunsplit

    import redis

    token = f"{os.getpid()}-{os.urandom(4).hex()}"
    for number in REDIS_SCRATCH_DBS:
        url = urlunsplit(urlsplit(base_url)._replace(path=f"/{number}"))
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=3)
            if not client.set(REDIS_CLAIM_KEY, token, nx=True, ex=7200):
                continue  # another run has it
            if client.dbsize() == 1:
                def release(client=client):
                    if client.get(REDIS_CLAIM_KEY) in (None, token.encode()):
                        client.flushdb()
                    client.close()

                return url, release
            client.delete(REDIS_CLAIM_KEY)  # someone's data: not ours to use
            client.close()
        except redis.RedisError:
            return None, None
    return None, None


def redis_keys_besides_claim(client):
    """How many keys a bench's Redis database holds, not counting bench/run.py's claim."""
    return client.dbsize() - client.exists(REDIS_CLAIM_KEY)


def flush_besides_claim(client):
    """Empty a bench's Redis database, keeping bench/run.py's claim (run.py flushes it when the run ends)."""
    claim = client.get(REDIS_CLAIM_KEY)
    client.flushdb()
    if claim is not None:
        client.set(REDIS_CLAIM_KEY, claim, ex=7200)


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
