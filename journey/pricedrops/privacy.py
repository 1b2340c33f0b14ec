"""What price-drop alerts hold on a person, for ``journey_erase`` (see journey.core.privacy).

* ``PriceWatch`` — the prices the person saw for what they keep in a basket or wish list: erased.
* The alerts are outbox messages: core's erasers remove them.
"""

from ..core import privacy


def erase_watches(subject, *, dry_run):
    from .models import PriceWatch

    return privacy.count_or_delete(PriceWatch.objects.filter(user_id__in=subject.user_ids), dry_run)


def connect():
    privacy.register_eraser("price watches", erase_watches)
