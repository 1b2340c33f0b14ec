"""Absolute links in messages, and describing an exception in one line (shared by the outbox and its channels)."""

from ...conf import journey_settings


def site_url() -> str:
    return str(journey_settings.SITE_URL or "").rstrip("/")


def absolute_url(path: str) -> str:
    return site_url() + path


def describe(exc) -> str:
    """A one-line description of an exception that never fails itself."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}{f' (HTTP {status})' if status else ''}: {text}"[:2000]
