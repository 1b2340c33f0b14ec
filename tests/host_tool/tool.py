"""The host tool's declaration (on the journey map, phase Retain) and its wiring."""

from journey.core.registry import Tool, Touchpoint
from journey.phases import Phase

TOOL = Tool(
    key="host_points",
    name="Host points",
    description="A host shop's own points program.",
    phases=[Phase.RETAIN],
    touchpoints=[Touchpoint.WEB],
    jobs=["host_points_award"],
    provider="host",
)
RECEIVER_UID = "tests.host_tool.order_placed"


def register_all(registry):
    registry.register(TOOL)


def order_placed(sender, order, **kwargs):
    """Thin, as a real tool's would be (nothing to do in the test)."""


def connect():
    from oscar.core.loading import get_class

    from . import tasks  # noqa: F401 - registers its Celery task

    get_class("order.signals", "order_placed").connect(order_placed, dispatch_uid=RECEIVER_UID)
