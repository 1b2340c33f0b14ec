"""`make bench`: run every benchmark script and print its table.

Arguments are passed to every script (each ignores what it does not know), e.g. ``bench/run.py --requests 20``.
``--only NAME[,NAME]`` runs only the named scripts (storefront, recovery_scan, outbox_throughput,
related_rebuild, related_quality, …: the module names in SCRIPTS).
"""

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
]


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
    failed = []
    for module in scripts:
        started = time.perf_counter()
        if subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT).returncode != 0:
            failed.append(module)
        print(f"({module}: {time.perf_counter() - started:.0f} s)")
    if failed:
        print(f"failed: {', '.join(failed)}")
    sys.exit(1 if failed else 0)
