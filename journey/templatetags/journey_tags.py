"""The ``journey_tags`` library (``{% load journey_tags %}``): the related-products tags, which live in their tool's
package (journey/related/tags.py)."""

from ..related.tags import register  # noqa: F401 - what Django looks for in a library module
