"""`make bench`: run every benchmark script and print its table.

Arguments are passed to every script (each ignores what it does not know), e.g. ``bench/run.py --requests 20``.
``--only NAME[,NAME]`` runs only the named scripts (storefront, recovery_scan, outbox_throughput,
related_rebuild, related_quality, …: the module names in SCRIPTS).

Exits non-zero when a script fails or a table shows a missed target (``MISSED``, see ``bench.common.verdict``).
``--smoke`` runs every script at tiny sizes with targets not enforced: it proves each bench still runs end to end
(tests/shop/test_bench.py runs it).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = [
    "bench.storefront",
    "bench.recovery_scan",
    "bench.outbox_throughput",
    "bench.related_rebuild",
    "bench.related_quality",
    "bench.loyalty_birthdays",
    "bench.promotions_hint",
    "bench.promotions",
    "bench.loyalty_followups",
    "bench.events_overhead",
    "bench.funnel",
    "bench.webhook_burst",
    "bench.incrementality",
]


SMOKE_DB = "journey_bench_smoke"
SMOKE_TEMPLATE = "journey_bench_smoke_template"


def smoke_database(env):
    """For --smoke: a scratch database with the tiny demo (``load_demo --size tiny``) for the benches that read the demo
    catalogue -- PostgreSQL when a server answers (so the PostgreSQL-only benches run too), else SQLite under var/.
    Returns a function that removes it."""
    sys.path.insert(0, str(ROOT))
    from bench.common import create_database, drop_database, postgres_available

    if not postgres_available():
        create_database(SMOKE_TEMPLATE)  # migrated once; every bench's own database is a copy of it
        env["BENCH_TEMPLATE_DB"] = os.environ["BENCH_TEMPLATE_DB"] = SMOKE_TEMPLATE
        url = create_database(SMOKE_DB)

        def remove():
            drop_database(SMOKE_DB)
            drop_database(SMOKE_TEMPLATE)
    else:
        path = ROOT / "var" / "bench-smoke.sqlite3"
        path.parent.mkdir(exist_ok=True)
        for stale in path.parent.glob(path.name + "*"):
            stale.unlink()
        url = f"sqlite:///{path}"
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, check=True,
                       env={**env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "shop.settings"})

        def remove():
            for stale in path.parent.glob(path.name + "*"):
                stale.unlink()
    subprocess.run([sys.executable, "manage.py", "load_demo", "--size", "tiny", "--no-progress", "-v", "0"], cwd=ROOT,
                   check=True, env={**env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "shop.settings"})
    env.update(DATABASE_URL=url, BENCH_DEMO_URL=url, BENCH_SMOKE_DB=SMOKE_DB)
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
    remove = None
    if "--smoke" in args:
        env["BENCH_SMOKE"] = "1"
        remove = smoke_database(env)
    failed, missed = [], []
    try:
        for module in scripts:
            started = time.perf_counter()
            code, miss = run(module, args, env)
            if code != 0:
                failed.append(module)
            elif miss:
                missed.append(module)
            print(f"({module}: {time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        if remove:
            remove()
    if failed:
        print(f"failed: {', '.join(failed)}")
    if missed:
        print(f"target missed: {', '.join(missed)}")
    sys.exit(1 if failed or missed else 0)
