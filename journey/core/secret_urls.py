"""Pages whose address is a secret (a token, a hash): password reset, guest order status, journey's restore and
unsubscribe links.  ``JOURNEY["SECRET_URLS"]`` lists them — URL names (``"customer:anon-order"``) or regular
expressions on the path (starting with ``^``).

Journey stores no path of such a page (landings), loads no third-party script on it (GA4, Hotjar, chat: they would
send its address away) and tells the browser to send no Referer from it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.urls import Resolver404, get_urlconf, resolve

from ..conf import journey_settings


@lru_cache(maxsize=64)
def _pattern(value: str):
    return re.compile(value)


def _matches(path: str, view_name: str | None) -> bool:
    for entry in journey_settings.SECRET_URLS or ():
        entry = str(entry)
        if entry.startswith("^"):
            if _pattern(entry).match(path):
                return True
        elif view_name and entry == view_name:
            return True
    return False


def is_secret_path(path: str) -> bool:
    """Whether ``path`` (no scheme, host or query) is a secret page of this shop."""
    path = (path or "").split("?", 1)[0].split("#", 1)[0]
    try:
        view_name = resolve(path, get_urlconf()).view_name
    except Resolver404:
        view_name = None
    return _matches(path, view_name)


def is_secret(request) -> bool:
    """Whether ``request`` is for a secret page (memoised on the request)."""
    if request is None:
        return False
    cached = getattr(request, "_journey_secret_url", None)
    if cached is None:
        match = getattr(request, "resolver_match", None)
        if match is not None:
            cached = _matches(request.path_info, match.view_name)
        else:
            cached = is_secret_path(request.path_info)
        request._journey_secret_url = cached
    return cached
