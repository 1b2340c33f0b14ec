"""``{% load journey_promotions %}`` for the shop without journey: every tag renders nothing (see journey_tags_stub)."""

from pathlib import Path

from django import template

from .journey_tags_stub import _nothing, _registered, _same

register = template.Library()
SOURCE = Path(__file__).resolve().parent.parent / "journey" / "templatetags" / "journey_promotions.py"

if SOURCE.exists():
    for kind, name in _registered(SOURCE.read_text()):
        if kind == "filter":
            register.filter(name, _same)
        else:
            register.simple_tag(_nothing, name=name)
