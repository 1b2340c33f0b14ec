"""What browse abandonment holds on a person, for ``journey_erase`` (see journey.core.privacy).

* ``BrowseReminder`` — when the person's last browse reminder was scheduled (by account or guest address): erased.
* The reminders are outbox messages and the product views journey events: core's erasers remove them.
"""

from ..core import privacy


def erase_reminders(subject, *, dry_run):
    from django.db.models import Q

    from .models import BrowseReminder

    rows = BrowseReminder.objects.filter(Q(user_id__in=subject.user_ids) | subject.email_q("email"))
    return privacy.count_or_delete(rows, dry_run)


def connect():
    privacy.register_eraser("browse reminders", erase_reminders)
