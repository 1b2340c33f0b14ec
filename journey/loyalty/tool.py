"""Retain as one tool package: the customer profile (``profiles/``), birthday rewards (``birthdays/``), post-purchase
and win-back (``followups/``).  ``register_all`` puts their three tools on the journey map; ``connect`` wires their
receivers, erasers, mail kinds and tasks (JourneyConfig.ready() calls it when ``journey.loyalty`` is in
JOURNEY["TOOLS"])."""


def register_all(registry):
    from .birthdays import tool as birthdays_tool
    from .followups import tool as followups_tool

    birthdays_tool.register_all(registry)
    followups_tool.register_all(registry)


def connect():
    """Wire the tools: mail kinds, receivers, erasers and Celery tasks."""
    from ..core import audience
    from . import api, privacy, tasks  # noqa: F401 - tasks register with Celery on import
    from .birthdays import mail as birthday_mail  # noqa: F401 - registers the birthday mail kind
    from .followups import mail as followups_mail  # noqa: F401 - registers the post-purchase and win-back kinds
    from .followups import receivers as followups_receivers
    from .profiles import receivers as profile_receivers

    followups_receivers.connect()
    profile_receivers.connect()
    audience.register_profiles("journey.loyalty", api)  # consent and languages for the tools that mail accounts
    privacy.connect()
