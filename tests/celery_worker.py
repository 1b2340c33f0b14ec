"""Start and stop a real Celery worker process for a test."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Worker:
    def __init__(self, env, log_path, *extra, pool="solo"):
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "shop", "worker", f"--pool={pool}", "--without-heartbeat",
             "--without-gossip", "--without-mingle", "--loglevel=INFO", *extra],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def text(self):
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.text():
                return self
            if self.process.poll() is not None:
                raise AssertionError("worker exited:\n" + self.text())
            time.sleep(0.2)
        raise AssertionError("worker not ready:\n" + self.text())

    def children(self):
        """The ids of the worker's pool processes (prefork), read from /proc."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:  # fields[1] is the parent's id
                found.append(int(stat.parent.name))
        return found

    def kill_child(self):
        """SIGKILL one pool process (the one running the task): the main process lives on."""
        [child] = self.children()
        os.kill(child, signal.SIGKILL)
        return child

    def kill_main(self):
        """SIGKILL the worker's main process only (what holds the broker connection and acks); its pool processes
        are orphaned and finish or die on their own.  stop() still ends the whole process group."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def kill(self):
        """SIGKILL: no warm shutdown, no ack, nothing cleaned up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)
        self.log.close()

    def stop(self):
        if self.process.poll() is not None:
            with contextlib.suppress(ProcessLookupError):  # orphaned pool processes of a killed main process
                os.killpg(self.process.pid, signal.SIGKILL)
        else:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        if not self.log.closed:
            self.log.close()


def wait_for(predicate, timeout=60, interval=0.2, what="condition", worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{worker.text()}" if worker else ""))
