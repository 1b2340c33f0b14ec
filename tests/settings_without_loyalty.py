"""The test settings with one of journey's tools switched off: every tool package but ``journey.loyalty`` in
JOURNEY["TOOLS"], and the beat schedule built from the same list (docs/settings.md, ``TOOLS``)."""

from journey.celery import beat_schedule
from journey.conf import BUILTIN_TOOLS
from tests.settings import *  # noqa: F403
from tests.settings import JOURNEY

JOURNEY = {**JOURNEY, "TOOLS": tuple(package for package in BUILTIN_TOOLS if package != "journey.loyalty")}
CELERY_BEAT_SCHEDULE = beat_schedule(tools=JOURNEY["TOOLS"])
