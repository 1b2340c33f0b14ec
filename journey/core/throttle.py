"""Per-client attempt counters in Django's cache, for the storefront views that can be brute-forced.

A ``Throttle`` names a setting holding ``(limit, window_seconds)``: once a client (its address, from
:func:`journey.core.events.client_ip`: ``JOURNEY["CLIENT_IP_HEADER"]`` behind a proxy) has counted
``limit`` hits within the window, ``limited(request)`` is true until the window runs out.  Restore links count bad
tokens; discount-code entry counts refused codes.  The counter is one ``cache.add``/``incr``; nothing touches the
database.
"""

from django.core.cache import cache

from ..conf import journey_settings
from .events import client_ip


class Throttle:
    def __init__(self, name: str, setting: str):
        self.name = name
        self.setting = setting

    def _limits(self):
        limit, window = getattr(journey_settings, self.setting)
        return int(limit), int(window)

    def key(self, request) -> str:
        return f"journey:{self.name}:" + (client_ip(request) or "unknown")[:100]

    def limited(self, request) -> bool:
        limit, _window = self._limits()
        return (cache.get(self.key(request)) or 0) >= limit

    def hit(self, request) -> None:
        """Count one attempt of this client (the window starts at its first attempt)."""
        _limit, window = self._limits()
        key = self.key(request)
        if not cache.add(key, 1, window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, window)
