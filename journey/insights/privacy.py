"""What insights holds on a person, for ``journey_erase`` and the retention job (see journey.core.privacy).

* ``GA4Delivery`` — one row per order and server-side GA4 event (purchase, refund), with GA's client id: erased with
  the person's orders, and aged out with the events (``EVENT_RETENTION_DAYS``).
* The funnel rollup, lane notes and personas hold no person.

Connected by :func:`connect`, called from ``journey.insights.tool.connect()``.
"""

from datetime import timedelta

from ..conf import journey_settings
from ..core import privacy


def erase_ga4_deliveries(subject, *, dry_run):
    from .ga4_models import GA4Delivery

    return privacy.count_or_delete(GA4Delivery.objects.filter(order_id__in=subject.order_ids), dry_run)


def purge_ga4_deliveries(now, batch):
    from .ga4_models import GA4Delivery

    days = journey_settings.EVENT_RETENTION_DAYS
    if not days:
        return None
    return privacy.delete_in_batches(GA4Delivery.objects.filter(created_at__lt=now - timedelta(days=days)), batch)


def connect():
    privacy.register_eraser("GA4 deliveries", erase_ga4_deliveries)
    privacy.register_purger("GA4 deliveries", purge_ga4_deliveries)
