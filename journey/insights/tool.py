"""Insights (funnel, attribution, GA4, the journey map) as a package that wires itself: it sits above the tools and
reads them through the registry."""


def register_all(registry):
    from . import widgets

    widgets.register_all(registry)


def connect():
    """Wire insights (JourneyConfig.ready() calls this when ``journey.insights`` is in JOURNEY["TOOLS"])."""
    from ..core import third_party
    from . import page_tags, privacy, receivers, tasks  # noqa: F401 - tasks register with Celery on import

    receivers.connect()
    privacy.connect()
    third_party.register(page_tags.TAGS)
