"""A visitor follows a campaign link: the discount is held or applied, the landing and the visitor's touch recorded.

    landing.share_url(campaign)     # https://shop.example.com/journey/c/summer/?utm_source=facebook…
    landing.land(request, campaign, utm=landing.utm_from(request.GET), visitor_id=...)
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from oscar.core.loading import get_class

from ... import signals
from ...core import baskets, events
from ...core.outbox import absolute_url
from ..base import Status
from .models import UTM_KEYS, Campaign, CampaignTouch
from .offers import discount_label

CLICK_IDS = ("gclid", "fbclid", "msclkid", "ttclid")


def share_url(campaign: Campaign, *, base="") -> str:
    """The full link to paste into an ad: the shop's address, the campaign path and the UTM values."""
    path = campaign.get_absolute_url()
    query = urlencode(campaign.utm)
    url = (base.rstrip("/") + path) if base else absolute_url(path)
    return f"{url}?{query}" if query else url


def utm_from(query) -> dict:
    """The UTM parameters and ad click ids of a request's query string (each cut to 200 characters)."""
    return {key: query[key][:200] for key in (*UTM_KEYS, *CLICK_IDS) if query.get(key)}


@dataclass(frozen=True)
class Landing:
    """What happened when a visitor followed a campaign link."""

    campaign: Campaign
    applied: bool          # the discount shows in the basket now
    saved: bool            # the voucher sits in the basket (it applies once the basket qualifies)
    level: int             # a django.contrib.messages level
    message: str
    basket: object = None
    touch: CampaignTouch | None = None


PENDING_KEY = "journey_campaign_pending"


def land(request, campaign: Campaign, *, utm: dict, visitor_id: str, now=None) -> Landing:
    """A visitor followed ``campaign``'s link: hold or apply its discount when it is live, record the landing.

    No basket is created here: a basket that already holds lines gets the voucher at once; otherwise the campaign
    waits in the session and :func:`apply_pending` puts it in the basket Oscar creates for the first addition."""
    now = now or timezone.now()
    basket, applied, saved = None, False, False
    level, message = _state_message(campaign, request.user, now)
    if level is None:
        current = request.basket
        if current.pk and current.num_lines:
            basket = current
            applied, saved = attach_to_basket(basket, campaign, request)
        else:
            request.session[PENDING_KEY] = campaign.pk
        discount = discount_label(campaign)
        if applied:
            level, message = messages.SUCCESS, _("%(discount)s off applied.") % {"discount": discount}
        elif campaign.min_basket:
            from oscar.templatetags.currency_filters import currency

            level, message = messages.INFO, _("%(discount)s off is waiting in your basket: it applies to orders "
                                              "over %(minimum)s.") % {"discount": discount,
                                                                      "minimum": currency(campaign.min_basket)}
        else:
            level, message = messages.INFO, _("%(discount)s off is waiting in your basket: it applies as soon as "
                                              "you add a product on offer.") % {"discount": discount}
    touch = record_landing(request, campaign, utm=utm, visitor_id=visitor_id, basket=basket, now=now)
    return Landing(campaign, applied, saved, level, message, basket, touch)


def apply_pending(request, now=None) -> bool:
    """Put the campaign discount held for this visitor (see :func:`land`) in the basket, once; True if done."""
    session = getattr(request, "session", None)
    if session is None or PENDING_KEY not in session:
        return False
    campaign = Campaign.objects.select_related("offer", "voucher").filter(pk=session.pop(PENDING_KEY)).first()
    if campaign is None or _state_message(campaign, request.user, now or timezone.now())[0] is not None:
        return False
    applied, _saved = attach_to_basket(request.basket, campaign, request)
    if applied:
        messages.success(request, _("%(discount)s off applied.") % {"discount": discount_label(campaign)})
    return True


def _state_message(campaign, user, now):
    """(level, message) when the campaign cannot be applied now, else (None, "")."""
    status = campaign.status_at(now)
    offer = campaign.offer
    if campaign.archived or status == Status.ENDED or offer is None or campaign.voucher is None:
        return messages.WARNING, _("This promotion has ended.")
    if status == Status.DRAFT:
        return messages.WARNING, _("This promotion has not started yet.")
    if status == Status.SCHEDULED:
        return messages.INFO, _("This promotion has not started yet (it starts on %(date)s).") % {
            "date": date_format(timezone.localtime(campaign.starts_at), "DATETIME_FORMAT")}
    if offer.is_suspended or offer.get_max_applications() == 0:
        return messages.WARNING, _("This promotion has ended: all its discounts have been used.")
    if user is not None and user.is_authenticated and offer.get_max_applications(user) == 0:
        return messages.WARNING, _("You have already used this promotion.")
    return None, ""


def attach_to_basket(basket, campaign: Campaign, request=None):
    """Put the campaign's voucher in ``basket`` and re-apply offers; (applied now, voucher in the basket).

    Unlike Oscar's VoucherAddView the voucher stays when the basket does not qualify yet (an empty basket just in
    from an ad), and offer applications are reset first so an exclusive site offer does not swallow the discount.
    """
    voucher = campaign.voucher
    baskets.ensure_saved(basket)
    if not basket.contains_voucher(voucher.code):
        basket.vouchers.add(voucher)
        get_class("basket.signals", "voucher_addition").send(sender=Campaign, basket=basket, voucher=voucher)
    baskets.reapply_offers(basket, baskets.shopper(request, basket), request)
    applied = baskets.voucher_discount(basket, voucher) is not None
    return applied, True


def record_landing(request, campaign: Campaign, *, utm: dict, visitor_id: str, basket=None, now=None):
    """The landing event, the visitor's first/last touch, and the ``campaign_landed`` signal."""
    now = now or timezone.now()
    seen = {**campaign.utm, **utm}
    events.record(
        events.Kind.CAMPAIGN_LANDING, request=request, tool="campaigns", ref=str(campaign.pk), at=now,
        basket_id=getattr(basket, "pk", None), source=seen.get("utm_source", ""),
        medium=seen.get("utm_medium", ""), campaign=seen.get("utm_campaign", ""), data=utm,
    )
    touch = None
    if visitor_id:
        touch = _touch(visitor_id, campaign, seen, request, now)
    signals.campaign_landed.send(sender=Campaign, campaign=campaign, request=request, utm=utm)
    return touch


def _touch(visitor_id, campaign, utm, request, now):
    user = request.user if getattr(request, "user", None) is not None and request.user.is_authenticated else None
    touch, created = CampaignTouch.objects.get_or_create(
        visitor_id=visitor_id[:64],
        defaults={"first_campaign": campaign, "first_at": now, "first_utm": utm, "last_campaign": campaign,
                  "last_at": now, "last_utm": utm, "user": user},
    )
    if not created:
        update = {"last_campaign": campaign, "last_at": now, "last_utm": utm, "landings": F("landings") + 1}
        if user is not None:
            update["user"] = user
        CampaignTouch.objects.filter(pk=touch.pk).update(**update)
        touch.refresh_from_db()
    return touch
