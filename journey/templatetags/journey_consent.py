"""The ``journey_consent`` tag library: implemented in :mod:`journey.core.consent_tags`."""

from ..core.consent_tags import register

__all__ = ["register"]
