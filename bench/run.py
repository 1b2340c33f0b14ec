"""`make bench`: run every benchmark script and print its table."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["bench.storefront"]

if __name__ == "__main__":
    failed = False
    for module in SCRIPTS:
        failed |= subprocess.run([sys.executable, "-m", module, *sys.argv[1:]], cwd=ROOT).returncode != 0
    sys.exit(1 if failed else 0)
