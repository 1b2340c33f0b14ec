"""The demo shop's Celery app for ``bench.outbox_throughput``'s worker, plus one thing: each worker process appends
the render/send figures of every ``send_claimed`` batch (the SendReport the ``journey.send_messages`` task returns
only as a summary string) to the file named by BENCH_FIGURES_FILE, one JSON line per batch."""

import json
import os
import time

from celery.signals import worker_process_init

from shop.celery import app

__all__ = ["app"]


@worker_process_init.connect
def _record_send_figures(**kwargs):
    path = os.environ.get("BENCH_FIGURES_FILE")
    if not path:
        return
    from journey.core import outbox

    original = outbox.send_claimed

    def send_claimed(ids, **kwargs):  # kwargs: the batch's claim (claimed_at)
        started = time.perf_counter()
        report = original(ids, **kwargs)
        wall = time.perf_counter() - started
        line = json.dumps({"pid": os.getpid(), "ids": len(ids), "sent": report.sent, "wall": wall,
                           "render": report.render_seconds, "send": report.send_seconds,
                           "not_sent": report.failed + report.retried + report.cancelled + report.suppressed})
        with open(path, "a") as figures:  # one short line per write: O_APPEND keeps the processes' lines whole
            figures.write(line + "\n")
        return report

    outbox.send_claimed = send_claimed  # journey.tasks.send_messages imports it at call time
