"""`make bench`: run every benchmark script and print its table.

Arguments are passed to every script (each ignores what it does not know), e.g. ``bench/run.py --requests 20``.
``--only NAME[,NAME]`` runs only the named scripts (storefront, fresh_load, recovery_scan, outbox_throughput,
related_rebuild, related_quality, …: the module names in SCRIPTS).

Exits non-zero when a script fails or a table shows a missed target (``MISSED``, see ``bench.common.verdict``).
``--smoke`` runs every script at tiny sizes with targets not enforced: it proves each bench still runs end to end
(tests/shop/test_bench.py runs it).
"""

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = [
    "bench.storefront",
    "bench.fresh_load",
    "bench.recovery_scan",
    "bench.browse_scan",
    "bench.outbox_throughput",
    "bench.related_rebuild",
    "bench.related_quality",
    "bench.loyalty_birthdays",
    "bench.promotions_hint",
    "bench.promotions",
    "bench.loyalty_followups",
    "bench.events_overhead",
    "bench.funnel",
    "bench.events_scale",
    "bench.webhook_burst",
    "bench.frequency_cap",
    "bench.incrementality",
]


SMOKE_DB = "journey_bench_smoke"
SMOKE_TEMPLATE = "journey_bench_smoke_template"


def start_run(env):
    """This run's unique suffix (BENCH_RUN_SUFFIX: the scratch databases, files and the Redis database of two runs at
    once never meet) and a Redis database of its own for the benches that need one (BENCH_REDIS_URL, unless set).
    Returns a function that releases what it claimed."""
    sys.path.insert(0, str(ROOT))
    from bench.common import claim_redis_db

    suffix = f"_{os.getpid()}_{secrets.token_hex(3)}"
    env["BENCH_RUN_SUFFIX"] = os.environ["BENCH_RUN_SUFFIX"] = suffix
    release = None
    if not env.get("BENCH_REDIS_URL"):
        url, release = claim_redis_db(env.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
        if url:
            env["BENCH_REDIS_URL"] = url
    return release or (lambda: None)


def smoke_database(env):
    """For --smoke: a scratch database with the tiny demo (``load_demo --size tiny``) for the benches that read the demo
    catalogue -- PostgreSQL when a server answers (so the PostgreSQL-only benches run too), else SQLite under var/.
    Its name carries this run's suffix (``start_run``).  Returns a function that removes it."""
    sys.path.insert(0, str(ROOT))
    from bench.common import create_database, drop_database, postgres_available, scratch_name

    database = scratch_name(SMOKE_DB)
    if not postgres_available():
        template = scratch_name(SMOKE_TEMPLATE)
        create_database(template)  # migrated once; every bench's own database is a copy of it
        env["BENCH_TEMPLATE_DB"] = os.environ["BENCH_TEMPLATE_DB"] = template

        def remove():
            drop_database(database)
            drop_database(template)

        try:
            url = create_database(database)
        except BaseException:
            remove()
            raise
    else:
        path = ROOT / "var" / f"bench-smoke{env['BENCH_RUN_SUFFIX']}.sqlite3"
        path.parent.mkdir(exist_ok=True)
        url = f"sqlite:///{path}"

        def remove():
            for stale in path.parent.glob(path.name + "*"):
                stale.unlink()

        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, check=True,
                       env={**env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "shop.settings"})
    try:
        subprocess.run([sys.executable, "manage.py", "load_demo", "--size", "tiny", "--no-progress", "-v", "0"],
                       cwd=ROOT, check=True,
                       env={**env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "shop.settings"})
    except BaseException:
        remove()
        raise
    env.update(DATABASE_URL=url, BENCH_DEMO_URL=url, BENCH_SMOKE_DB=database)
    return remove


def run(module, args, env):
    """Run one script, echoing its output; return (exit code, whether a table showed MISSED)."""
    missed = False
    with subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          text=True, bufsize=1) as child:
        for line in child.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            missed = missed or "MISSED" in line
    return child.returncode, missed


def select(argv):
    """(scripts to run, arguments for them) from ``argv``."""
    args, only = [], None
    items = iter(argv)
    for item in items:
        if item == "--only":
            only = next(items, "")
        elif item.startswith("--only="):
            only = item.split("=", 1)[1]
        else:
            args.append(item)
    if only is None:
        return SCRIPTS, args
    wanted = {name.strip().removeprefix("bench.") for name in only.split(",") if name.strip()}
    unknown = wanted - {s.removeprefix("bench.") for s in SCRIPTS}
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: "
                 f"{', '.join(s.removeprefix('bench.') for s in SCRIPTS)}")
    return [s for s in SCRIPTS if s.removeprefix("bench.") in wanted], args


if __name__ == "__main__":
    scripts, args = select(sys.argv[1:])
    env = dict(os.environ)
    cleanups = [start_run(env)]
    failed, missed = [], []
    try:
        if "--smoke" in args:
            env["BENCH_SMOKE"] = "1"
            cleanups.append(smoke_database(env))
        for module in scripts:
            started = time.perf_counter()
            code, miss = run(module, args, env)
            if code != 0:
                failed.append(module)
            elif miss:
                missed.append(module)
            print(f"({module}: {time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        for cleanup in reversed(cleanups):
            cleanup()
    if failed:
        print(f"failed: {', '.join(failed)}")
    if missed:
        print(f"target missed: {', '.join(missed)}")
    sys.exit(1 if failed or missed else 0)
