"""Values a process keeps for a few seconds in front of the shared cache.

Pages ask the cache for a few small, rarely changing values (the live related-products build, the version of the
live quantity promotions, the rendered related-products lists).  Each ask is a round trip to Redis (or a file read);
keeping the answer in the process for ``JOURNEY["PROCESS_CACHE_SECONDS"]`` (default 5, 0 turns it off) saves it on
busy pages, at the price of other processes seeing a change up to that many seconds late.  The process that makes
the change clears its copy.
"""

from __future__ import annotations

import threading
import time
import weakref

from ..conf import journey_settings

_all: weakref.WeakSet = weakref.WeakSet()


class ProcessMemo:
    """One value per key, kept by this process for PROCESS_CACHE_SECONDS; with ``max_entries``, at most that many
    (the oldest written goes first), for values keyed by product or basket."""

    def __init__(self, max_entries: int | None = None):
        self._values: dict = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries
        _all.add(self)

    def get(self, key, load):
        seconds = journey_settings.PROCESS_CACHE_SECONDS
        if not seconds:
            return load()
        now = time.monotonic()
        hit = self._values.get(key)
        if hit is not None and now - hit[0] < seconds:
            return hit[1]
        value = load()
        with self._lock:
            self._values.pop(key, None)  # written again: the newest
            self._values[key] = (now, value)
            if self.max_entries is not None:
                while len(self._values) > self.max_entries:
                    self._values.pop(next(iter(self._values)))
        return value

    def __len__(self):
        return len(self._values)

    def clear(self):
        with self._lock:
            self._values.clear()


def clear_all():
    """Forget every process memo (tests call this between tests, like ``cache.clear()``)."""
    for memo in list(_all):
        memo.clear()
