"""What abandoned-basket recovery holds on a person, for ``journey_erase`` (see journey.core.privacy).

* ``BasketActivity`` — a basket's last activity, its address and where it is in the recovery sequence: erased.  Its
  baskets are also part of the person (a finder adds them), so their events go with core's "events" eraser.
* Recovery mails are outbox messages and their vouchers personal vouchers: core's erasers remove them.

Connected by :func:`connect`, called from ``journey.recovery.tool.connect()``.
"""

from django.db.models import Q

from ..core import privacy


def _activities(subject):
    from .models import BasketActivity

    return BasketActivity.objects.filter(subject.email_q("email") | Q(user_id__in=subject.user_ids))


def find_baskets(subject):
    subject.basket_ids |= set(_activities(subject).values_list("basket_id", flat=True))


def erase_basket_activity(subject, *, dry_run):
    return privacy.count_or_delete(_activities(subject), dry_run)


def connect():
    privacy.register_finder("recovered baskets", find_baskets)
    privacy.register_eraser("basket activity", erase_basket_activity)
