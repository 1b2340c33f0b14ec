"""The thread-race harness: run the same work in several threads released together, as two workers, two cron runs
or five checkouts at once would.  Row locks are only promised (and so only tested) on PostgreSQL."""

import threading

import pytest
from django.db import connection

#: Mark a race test: SQLite serialises writers (and ignores SELECT … FOR UPDATE), so a race there proves nothing.
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="row-level concurrency is promised on PostgreSQL only")


def run_at_once(n, target, *, errors="raise", timeout=None):
    """Call ``target(i)`` for i in 0..n-1, each in its own thread, all released by one barrier; returns the results
    in the order of i.  Each thread closes its database connection when done.  With ``errors="raise"`` the first
    exception a thread raised is raised here once all have finished; with ``errors="return"`` it stands in the
    results in that thread's place (for races where some must lose, e.g. a voucher redeemed once)."""
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return', not {errors!r}")
    barrier, results = threading.Barrier(n, timeout=timeout), [None] * n
    failed = [False] * n

    def runner(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - raised or returned below
            results[i], failed[i] = exc, True
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors == "raise" and any(failed):
        raise results[failed.index(True)]
    return results
