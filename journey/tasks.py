"""The module Celery's ``autodiscover_tasks()`` finds: journey's core tasks and those of every installed tool package.

Task names are stable (``journey.<verb>``); each tool package declares its own in ``<package>/tasks.py`` (its
``connect()`` imports them too, so a worker has them whatever imports it first).
"""

from .conf import tool_modules
from .core.tasks import purge_old_data, run_job, send_due_messages, send_message, send_messages

tool_modules("tasks")  # each installed tool's tasks, registered on import

__all__ = ["purge_old_data", "run_job", "send_due_messages", "send_message", "send_messages"]
