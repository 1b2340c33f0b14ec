"""The ``journey_promotions`` library (``{% load journey_promotions %}``): the quantity-hint tags, which live in their
tool's package (journey/promotions/tags.py)."""

from ..promotions.tags import register  # noqa: F401 - what Django looks for in a library module
