"""``{% load journey_onsite %}`` for the shop without journey: every tag renders nothing (see journey_tags_stub)."""

from .journey_tags_stub import stub_library

register = stub_library("journey_onsite")
