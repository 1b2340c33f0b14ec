"""Helpers shared by the benchmark scripts: percentiles, tables, child processes."""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
