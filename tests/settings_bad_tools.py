"""JOURNEY["TOOLS"] with entries journey cannot use (system check journey.E030): a package that does not exist, one
without a tool module, one whose tool module has no connect()."""

from tests.settings import *  # noqa: F403
from tests.settings import JOURNEY

JOURNEY = {**JOURNEY, "TOOLS": ("journey.recovery", "journey.related", "journey.promotions", "journey.loyalty",
                                "journey.insights", "no_such_tool_package", "email", "tests.tool_without_connect")}
