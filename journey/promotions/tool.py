"""The promotions tool package and its wiring: two journey tools on Oscar's offer engine.

* ``campaigns`` (:mod:`.campaigns`): campaign discounts — links, codes and unique codes for ads (Attract);
* ``quantity`` (:mod:`.quantity`): quantity tiers and "buy X, pay Y" with "add 1 more" hints (Convince, Sell).

Shared by both at this level: ``base`` (schedule and status), ``apply`` and ``code_views`` (the discount-code form),
``middleware`` (Oscar's code form through journey's), ``privacy`` (the eraser), ``receivers`` and ``api`` (the only
module other tools may import).
"""

from . import privacy, receivers
from .campaigns import tool as campaigns_tool
from .quantity import tool as quantity_tool


def register_all(registry):
    campaigns_tool.register_all(registry)
    quantity_tool.register_all(registry)


def connect():
    """Wire the receivers (a campaign discount held for the first basket addition) and the privacy eraser."""
    receivers.connect()
    privacy.connect()
