"""The ``journey_ga4`` tag library: implemented in :mod:`journey.insights.page_tags` (renders nothing while
``journey.insights`` is not in ``JOURNEY["TOOLS"]``)."""

from ..insights.page_tags import register

__all__ = ["register"]
