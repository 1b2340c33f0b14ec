"""The demo shop with journey's event capture turned off (bench/events_overhead.py compares it with it on)."""

from shop.settings import *  # noqa: F403

JOURNEY = {**JOURNEY, "EVENTS_ENABLED": False}  # noqa: F405
