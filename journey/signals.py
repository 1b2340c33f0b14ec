"""Signals journey sends, public API for host shops (connect with ``@receiver``).

``job_finished(sender=Job, job, outcome)``
    A periodic job ran (``outcome.state`` is "ran" or "failed").
"""

from django.dispatch import Signal

job_finished = Signal()
