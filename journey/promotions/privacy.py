"""What the promotions tools hold on a person, for ``journey_erase`` (see journey.core.privacy).

* Campaign discounts: ``CampaignTouch`` — a visitor's first and last campaign landing, keyed by visitor id and
  linked to the account once the visitor signed in.  Erased.  (Their landing events are journey events, erased by
  core's "events" eraser; code batches are the shop's, nobody's personal data.)
* Quantity promotions hold nothing on a person: their discounts live in Oscar's order tables (the shop's records).

Connected by :func:`connect` (``journey.promotions.tool.connect``).
"""

from django.db.models import Q

from ..core import privacy
from .campaigns.models import CampaignTouch


def erase_campaign_touches(subject, *, dry_run):
    touches = CampaignTouch.objects.filter(Q(visitor_id__in=subject.visitor_ids) | Q(user_id__in=subject.user_ids))
    return privacy.count_or_delete(touches, dry_run)


def connect():
    privacy.register_eraser("campaign touches", erase_campaign_touches)
