"""What related products hold on a person, for ``journey_erase`` (see journey.core.privacy).

* ``RelatedClick`` — a signed-in shopper's clicks in the "bought together" and "complete your basket" lists:
  erased.  (Anonymous clicks keep no person; the lists themselves are learnt from all orders, nobody's data.)

Connected by :func:`connect`, called from ``journey.related.tool.connect()``.
"""

from ..core import privacy


def erase_related_clicks(subject, *, dry_run):
    from .models import RelatedClick

    return privacy.count_or_delete(RelatedClick.objects.filter(user_id__in=subject.user_ids), dry_run)


def connect():
    privacy.register_eraser("related clicks", erase_related_clicks)
