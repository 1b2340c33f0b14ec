"""Loyalty switched off and a host shop's own tool package (``tests.host_tool``, outside journey) switched on."""

from journey.celery import beat_schedule
from tests.settings_without_loyalty import *  # noqa: F403
from tests.settings_without_loyalty import JOURNEY

JOURNEY = {**JOURNEY, "TOOLS": (*JOURNEY["TOOLS"], "tests.host_tool")}
CELERY_BEAT_SCHEDULE = beat_schedule(tools=JOURNEY["TOOLS"])
