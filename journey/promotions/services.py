"""Campaign discounts on Oscar's own offer engine: create, keep in step, end, delete, share, land, count.

Public API (see docs/promotions.md)::

    from journey.promotions import services
    campaign = services.create_campaign(name="Summer", slug="summer", kind="percentage", value=10,
                                        channel="facebook")
    services.share_url(campaign)                 # https://shop.example.com/journey/c/summer/?utm_source=facebook…
    batch = services.generate_codes(campaign, 10_000, prefix="SUMMER")
    services.end_campaign(campaign)              # suspends the offer, ends the vouchers
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import slugify
from django.utils.translation import gettext as _
from oscar.core.loading import get_class, get_model

from .. import signals
from ..core import events
from ..core.outbox import absolute_url
from ..exceptions import JourneyError
from .base import Status
from .models import (
    CODE_ALPHABET,
    CODE_RE,
    PREFIX_RE,
    Campaign,
    CampaignTouch,
    CodeBatch,
    DiscountKind,
    normalise_code,
)

logger = logging.getLogger(__name__)

ConditionalOffer = get_model("offer", "ConditionalOffer")
Condition = get_model("offer", "Condition")
Benefit = get_model("offer", "Benefit")
Range = get_model("offer", "Range")
Voucher = get_model("voucher", "Voucher")
VoucherSet = get_model("voucher", "VoucherSet")
VoucherApplication = get_model("voucher", "VoucherApplication")
Basket = get_model("basket", "Basket")
Order = get_model("order", "Order")
OrderDiscount = get_model("order", "OrderDiscount")

ALL_PRODUCTS_RANGE = "journey: all products"  # shared with journey.core.vouchers
FAR_FUTURE = datetime(2099, 12, 31, tzinfo=UTC)
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
CLICK_IDS = ("gclid", "fbclid", "msclkid", "ttclid")
MIN_CODE_LENGTH = 6
MAX_CODE_LENGTH = 16
MAX_CODES_PER_BATCH = 1_000_000
INSERT_CHUNK = 10_000


class CampaignError(JourneyError, ValueError):
    """A campaign operation that cannot be done (the message says why, for the store owner)."""


class HasRedemptions(CampaignError):
    """The campaign has been used on orders: it cannot be deleted, only ended and archived."""


# Oscar objects -------------------------------------------------------------------------------------------------------
def _all_products_range():
    product_range, _created = Range.objects.get_or_create(
        name=ALL_PRODUCTS_RANGE, defaults={"includes_all_products": True, "is_public": False}
    )
    return product_range


def benefit_range(campaign: Campaign):
    """The Oscar range the discount applies to: the chosen range, a range of the chosen categories, or all."""
    if campaign.product_range_id:
        return campaign.product_range
    if campaign.pk:
        categories = list(campaign.categories.all())
        if categories:
            product_range = campaign.own_range or Range(name=_unique_name(Range, f"journey campaign {campaign.slug}"))
            product_range.includes_all_products = False
            product_range.is_public = False
            product_range.save()
            product_range.included_categories.set(categories)
            campaign.own_range = product_range
            return product_range
    return _all_products_range()


def range_matches_products(campaign: Campaign) -> bool:
    """Whether the campaign's products (range or categories) include at least one product."""
    if not campaign.product_range_id and not campaign.own_range_id and not campaign.categories.exists():
        return True
    product_range = campaign.product_range if campaign.product_range_id else campaign.own_range
    if product_range is None:
        return True
    return Range.objects.get(pk=product_range.pk).all_products().exists()


def _unique_name(model, wanted, exclude_pk=None, max_length=128):
    name = wanted[:max_length]
    taken = model.objects.filter(name=name)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        suffix = f" ({secrets.token_hex(3)})"
        name = wanted[: max_length - len(suffix)] + suffix
    return name


def voucher_window(campaign: Campaign, now=None):
    """(start, end) for the campaign's vouchers: Oscar applies a voucher only inside its window."""
    now = now or timezone.now()
    status = campaign.status_at(now)
    if status == Status.DRAFT:
        past = now - timedelta(seconds=1)
        return past, past
    if status == Status.ENDED:
        end = min(d for d in (campaign.ended_at, campaign.ends_at) if d)
        return min(campaign.starts_at, end), end
    return campaign.starts_at, campaign.ends_at or FAR_FUTURE


@transaction.atomic
def sync(campaign: Campaign, now=None) -> Campaign:
    """Create or update the Oscar objects behind ``campaign`` (call after saving it and its categories)."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    target = benefit_range(campaign)
    min_basket = campaign.min_basket or Decimal("0")
    offer = campaign.offer
    condition = offer.condition if offer else Condition()
    condition.type = Condition.VALUE
    # A minimum basket value counts the whole basket; without one, the basket needs one discounted product.
    condition.range = _all_products_range() if min_basket > 0 else target
    condition.value = max(min_basket, Decimal("0.01"))
    condition.save()
    benefit = offer.benefit if offer else Benefit()
    benefit.range = target
    benefit.type = Benefit.PERCENTAGE if campaign.discount_kind == DiscountKind.PERCENTAGE else Benefit.FIXED
    benefit.value = campaign.discount_value
    benefit.save()
    if offer is None:
        offer = ConditionalOffer(offer_type=ConditionalOffer.VOUCHER, condition=condition, benefit=benefit)
    offer.name = _unique_name(ConditionalOffer, campaign.name, exclude_pk=offer.pk)
    offer.description = _("Campaign discount “%(name)s” (journey): %(discount)s off.") % {
        "name": campaign.name, "discount": discount_label(campaign)}
    offer.max_basket_applications = 1
    offer.max_global_applications = campaign.max_total_uses
    offer.max_user_applications = campaign.max_uses_per_customer
    start, end = voucher_window(campaign, now)
    offer.start_datetime, offer.end_datetime = start, (None if end == FAR_FUTURE else end)
    status = campaign.status_at(now)
    offer.status = ConditionalOffer.SUSPENDED if status in (Status.DRAFT, Status.ENDED) else ConditionalOffer.OPEN
    offer.save()  # Oscar marks it consumed when the global limit is used up

    voucher = campaign.voucher
    if voucher is None:
        voucher = Voucher(usage=Voucher.MULTI_USE)
    voucher.code = campaign.code or voucher.code or _unused_code(slugify(campaign.slug).upper()[:10].strip("-"))
    voucher.name = _unique_name(Voucher, campaign.name, exclude_pk=voucher.pk)
    voucher.start_datetime, voucher.end_datetime = start, end
    voucher.save()
    voucher.offers.set([offer])
    # Unique codes follow the campaign's window.
    sets = VoucherSet.objects.filter(journey_batch__campaign=campaign)
    sets.update(start_datetime=start, end_datetime=end)
    Voucher.objects.filter(voucher_set__in=sets).update(start_datetime=start, end_datetime=end)

    Campaign.objects.filter(pk=campaign.pk).update(offer=offer, voucher=voucher, own_range=campaign.own_range)
    campaign.offer, campaign.voucher = offer, voucher
    return campaign


def create_campaign(*, name, slug=None, kind=DiscountKind.PERCENTAGE, value, min_basket=None, product_range=None,
                    categories=(), starts_at=None, ends_at=None, max_total_uses=None, max_uses_per_customer=None,
                    channel="other", utm=None, code="", landing_path="/", publish=True, phase=None) -> Campaign:
    """Create a campaign discount and its Oscar offer and voucher.  Raises ``ValidationError`` on bad terms."""
    utm = utm or {}
    campaign = Campaign(
        name=name, slug=slug or slugify(name)[:64], discount_kind=kind, discount_value=Decimal(str(value)),
        min_basket=Decimal(str(min_basket)) if min_basket not in (None, "") else None, product_range=product_range,
        starts_at=starts_at or timezone.now(), ends_at=ends_at, max_total_uses=max_total_uses,
        max_uses_per_customer=max_uses_per_customer, channel=channel, code=normalise_code(code),
        landing_path=landing_path, is_draft=not publish,
        **{key: utm.get(key, "") for key in UTM_KEYS},
    )
    if phase:
        campaign.phase = phase
    campaign.full_clean()
    with transaction.atomic():
        campaign.save()
        if categories:
            campaign.categories.set(categories)
        return sync(campaign)


def end_campaign(campaign: Campaign, now=None) -> Campaign:
    """End it now: Oscar's offer is suspended and its vouchers stop working (baskets holding them lose it)."""
    now = now or timezone.now()
    Campaign.objects.filter(pk=campaign.pk, ended_at__isnull=True).update(ended_at=now)
    campaign.refresh_from_db()
    return sync(campaign, now)


def archive_campaign(campaign: Campaign, now=None) -> Campaign:
    """End it and hide it from the default list; its numbers and Oscar's order history stay."""
    campaign = end_campaign(campaign, now)
    Campaign.objects.filter(pk=campaign.pk).update(archived=True)
    campaign.archived = True
    return campaign


def redemptions(campaign: Campaign) -> int:
    """Orders that used the campaign (its offer, or any of its vouchers)."""
    orders = set()
    if campaign.offer_id:
        orders.update(OrderDiscount.objects.filter(offer_id=campaign.offer_id).values_list("order_id", flat=True))
        orders.update(VoucherApplication.objects.filter(voucher__offers=campaign.offer_id)
                      .values_list("order_id", flat=True))
    return len(orders)


@transaction.atomic
def delete_campaign(campaign: Campaign):
    """Delete a campaign that was never used, with its Oscar objects.  Raises :class:`HasRedemptions` otherwise."""
    if redemptions(campaign):
        raise HasRedemptions(_("“%(name)s” has been used on orders, so it cannot be deleted: end and archive it "
                               "instead (its orders keep their discount).") % {"name": campaign.name})
    offer, own_range = campaign.offer, campaign.own_range
    sets = list(VoucherSet.objects.filter(journey_batch__campaign=campaign).values_list("pk", flat=True))
    _delete_unused_set_vouchers(sets)
    VoucherSet.objects.filter(pk__in=sets).delete()
    if campaign.voucher_id:
        Voucher.objects.filter(pk=campaign.voucher_id).delete()
    campaign.delete()
    if offer is not None:
        condition, benefit = offer.condition, offer.benefit
        offer.delete()
        condition.delete()
        benefit.delete()
    if own_range is not None:
        own_range.delete()


def _delete_unused_set_vouchers(set_ids):
    """Delete the (never redeemed) vouchers of these voucher sets with set-based statements: Django's collector
    would load 100,000 vouchers to cascade by hand."""
    if not set_ids:
        return
    in_sets = Voucher.objects.filter(voucher_set_id__in=set_ids)
    Voucher.offers.through.objects.filter(voucher__in=in_sets).delete()  # no dependants: one DELETE each
    Basket.vouchers.through.objects.filter(voucher__in=in_sets).delete()
    for relation in Voucher._meta.related_objects:  # anything else pointing at them (a host's models, journey's)
        if relation.many_to_many or relation.related_model in (Voucher.offers.through, Basket.vouchers.through):
            continue
        manager = relation.related_model._base_manager
        if relation.on_delete is models.SET_NULL:
            manager.filter(**{f"{relation.field.name}__in": in_sets}).update(**{relation.field.name: None})
        else:
            manager.filter(**{f"{relation.field.name}__in": in_sets}).delete()
    in_sets._raw_delete(in_sets.db)


# Codes ---------------------------------------------------------------------------------------------------------------
# 256 byte values onto the 32-character alphabet: each character equally likely (256 is a multiple of 32).
_BYTE_TO_CHAR = bytes(ord(CODE_ALPHABET[i % len(CODE_ALPHABET)]) for i in range(256))


def _random_codes(prefix, length, n):
    """``n`` random codes (not checked for uniqueness): ``PREFIX-XXXX-XXXX``."""
    raw = secrets.token_bytes(n * length).translate(_BYTE_TO_CHAR).decode("ascii")
    head = f"{prefix}-" if prefix else ""
    groups = range(0, length, 4)
    return [head + "-".join(raw[i + g:i + min(g + 4, length)] for g in groups) for i in range(0, n * length, length)]


def _random_code(prefix, length):
    return _random_codes(prefix, length, 1)[0]


def _unused_code(prefix="", length=8):
    while True:
        code = _random_code(prefix, length)
        if not Voucher.objects.filter(code=code).exists():
            return code


def validate_batch(count, prefix="", length=8):
    """The normalised prefix, or a CampaignError saying what is wrong."""
    prefix = normalise_code(prefix).strip("-")
    if prefix and not PREFIX_RE.match(prefix):
        raise CampaignError(_("A prefix may only hold capital letters A–Z, digits and dashes."))
    if len(prefix) > 16:
        raise CampaignError(_("Keep the prefix to 16 characters or fewer."))
    if not MIN_CODE_LENGTH <= length <= MAX_CODE_LENGTH:
        raise CampaignError(_("Codes need between %(min)d and %(max)d random characters.")
                            % {"min": MIN_CODE_LENGTH, "max": MAX_CODE_LENGTH})
    if not 1 <= count <= MAX_CODES_PER_BATCH:
        raise CampaignError(_("Generate between 1 and %(max)s codes at a time.") % {"max": f"{MAX_CODES_PER_BATCH:,}"})
    if len(CODE_ALPHABET) ** length < count * 10_000:
        raise CampaignError(_("Codes this short would be easy to guess for so many: use more random characters."))
    return prefix


def generate_codes(campaign: Campaign, count: int, prefix="", length=8) -> CodeBatch:
    """Create ``count`` unique single-use codes for ``campaign`` (an Oscar VoucherSet), in bulk.

    Codes are ``PREFIX-XXXX-XXXX`` from an alphabet without look-alikes, unique against every existing Oscar voucher;
    the vouchers and their links to the campaign's offer are inserted in chunks of 10,000 rows.
    """
    prefix = validate_batch(count, prefix, length)
    if campaign.offer_id is None:
        campaign = sync(campaign)
    start, end = voucher_window(campaign)
    now = timezone.now()
    with transaction.atomic():
        voucher_set = VoucherSet.objects.create(
            name=_unique_name(VoucherSet, f"{campaign.name} · {prefix or 'codes'} · {now:%Y-%m-%d %H:%M:%S}",
                              max_length=100),
            count=count, code_length=length, description=_("Unique codes of the campaign “%(name)s”.")
            % {"name": campaign.name}, start_datetime=start, end_datetime=end,
        )
        batch = CodeBatch.objects.create(campaign=campaign, prefix=prefix, count=count, length=length,
                                         voucher_set=voucher_set)
        name_base = f"{campaign.name[:80]} "
        if connection.vendor == "postgresql" and _plain_voucher_model():
            _insert_codes_postgresql(voucher_set, campaign.offer_id, prefix, length, count, name_base, start, end,
                                     now)
        else:
            _insert_codes_orm(voucher_set, campaign.offer_id, prefix, length, count, name_base, start, end, now)
    return batch


_VOUCHER_FIELDS = {"id", "name", "code", "usage", "start_datetime", "end_datetime", "num_basket_additions",
                   "num_orders", "total_discount", "voucher_set", "date_created"}


def _plain_voucher_model():
    """Whether Oscar's Voucher has only the fields journey's fast path inserts (a forked model may add more)."""
    return {f.name for f in Voucher._meta.concrete_fields} == _VOUCHER_FIELDS


def _insert_codes_postgresql(voucher_set, offer_id, prefix, length, count, name_base, start, end, now):
    """Arrays in, one INSERT … SELECT unnest(…) ON CONFLICT DO NOTHING per chunk: a code someone else holds (or
    took a moment ago) is skipped and drawn again; then one INSERT … SELECT links every voucher to the offer."""
    meta = Voucher._meta
    column = {f.name: f.column for f in meta.concrete_fields}
    insert = (
        f'INSERT INTO "{meta.db_table}" ("{column["name"]}", "{column["code"]}", "{column["usage"]}", '  # noqa: S608
        f'"{column["start_datetime"]}", "{column["end_datetime"]}", "{column["num_basket_additions"]}", '
        f'"{column["num_orders"]}", "{column["total_discount"]}", "{column["voucher_set"]}", '
        f'"{column["date_created"]}") '
        "SELECT %s || c, c, %s, %s, %s, 0, 0, 0, %s, %s FROM unnest(%s::text[]) AS c "
        "ON CONFLICT DO NOTHING"
    )
    made, seen = 0, set()
    with connection.cursor() as cursor:
        while made < count:
            wanted = min(INSERT_CHUNK, count - made)
            # Sorted: the four text indexes (code, name and their LIKE twins) then grow in order, not at random.
            codes = sorted(c for c in set(_random_codes(prefix, length, wanted)) if c not in seen)
            seen.update(codes)
            cursor.execute(insert, [name_base, Voucher.SINGLE_USE, start, end, voucher_set.pk, now, codes])
            made += cursor.rowcount
        through = Voucher.offers.through._meta
        voucher_col = through.get_field("voucher").column
        offer_col = through.get_field("conditionaloffer").column
        cursor.execute(
            f'INSERT INTO "{through.db_table}" ("{voucher_col}", "{offer_col}") '  # noqa: S608 - names from models
            f'SELECT "{column["id"]}", %s FROM "{meta.db_table}" WHERE "{column["voucher_set"]}" = %s',
            [offer_id, voucher_set.pk],
        )


def _insert_codes_orm(voucher_set, offer_id, prefix, length, count, name_base, start, end, now):
    through = Voucher.offers.through
    made = 0
    while made < count:
        wanted = min(INSERT_CHUNK, count - made)
        codes = _fresh_codes(prefix, length, wanted)
        rows = [Voucher(name=name_base + code, code=code, usage=Voucher.SINGLE_USE, start_datetime=start,
                        end_datetime=end, voucher_set_id=voucher_set.pk, date_created=now) for code in codes]
        try:
            with transaction.atomic():
                created = Voucher.objects.bulk_create(rows)
                through.objects.bulk_create([through(voucher_id=v.pk, conditionaloffer_id=offer_id)
                                             for v in created])
        except IntegrityError:  # a code (or name) was taken meanwhile by someone else: draw this chunk again
            logger.info("journey: code collision while generating a batch; drawing again")
            continue
        made += wanted


def _fresh_codes(prefix, length, wanted):
    """``wanted`` distinct codes none of which is an existing voucher code."""
    codes = set()
    while len(codes) < wanted:
        draw = set(_random_codes(prefix, length, wanted - len(codes)))
        draw -= codes
        if draw:
            draw -= _existing_codes(draw)
        codes |= draw
    return list(codes)


def _existing_codes(codes):
    """Which of ``codes`` are already voucher codes."""
    codes, size = list(codes), (10_000 if connection.vendor == "postgresql" else 500)
    taken = set()
    for i in range(0, len(codes), size):
        taken.update(Voucher.objects.filter(code__in=codes[i:i + size]).values_list("code", flat=True))
    return taken


def batch_codes(batch: CodeBatch):
    """(code, used) for every code of the batch, in insertion order (for the CSV download)."""
    used = set(VoucherApplication.objects.filter(voucher__voucher_set_id=batch.voucher_set_id)
               .values_list("voucher_id", flat=True))
    for pk, code in Voucher.objects.filter(voucher_set_id=batch.voucher_set_id).order_by("pk") \
            .values_list("pk", "code").iterator(chunk_size=5000):
        yield code, pk in used


def code_is_well_formed(code: str) -> bool:
    return bool(CODE_RE.match(code or ""))


# The link ------------------------------------------------------------------------------------------------------------
def share_url(campaign: Campaign, *, base="") -> str:
    """The full link to paste into an ad: the shop's address, the campaign path and the UTM values."""
    path = campaign.get_absolute_url()
    query = urlencode(campaign.utm)
    url = (base.rstrip("/") + path) if base else absolute_url(path)
    return f"{url}?{query}" if query else url


def discount_label(campaign: Campaign) -> str:
    value = campaign.discount_value.normalize()
    if campaign.discount_kind == DiscountKind.PERCENTAGE:
        return f"{value:f} %"
    from oscar.templatetags.currency_filters import currency

    return currency(campaign.discount_value)


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
    Applicator = get_class("offer.applicator", "Applicator")
    voucher = campaign.voucher
    if not basket.id:
        basket.save()
    if not basket.contains_voucher(voucher.code):
        basket.vouchers.add(voucher)
        get_class("basket.signals", "voucher_addition").send(sender=Campaign, basket=basket, voucher=voucher)
    basket.reset_offer_applications()
    user = getattr(request, "user", None) or basket.owner
    if user is None:
        from django.contrib.auth.models import AnonymousUser

        user = AnonymousUser()  # Oscar only applies voucher offers for a user, signed in or not
    Applicator().apply(basket, user, request)
    applied = any(d["voucher"] and d["voucher"].pk == voucher.pk for d in basket.grouped_voucher_discounts)
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
        from django.db.models import F

        update = {"last_campaign": campaign, "last_at": now, "last_utm": utm, "landings": F("landings") + 1}
        if user is not None:
            update["user"] = user
        CampaignTouch.objects.filter(pk=touch.pk).update(**update)
        touch.refresh_from_db()
    return touch


# Numbers -------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CampaignNumbers:
    landings: int
    baskets: int
    orders: int
    discount: Decimal
    revenue: Decimal
    average_order: Decimal | None
    average_order_without: Decimal | None


def campaign_numbers(campaign: Campaign, now=None) -> CampaignNumbers:
    """Landings, baskets holding it, orders, discount given, revenue and average order value with vs. without it
    (orders of the same period that did not use it)."""
    now = now or timezone.now()
    landings = _landings(campaign)
    if not campaign.offer_id:
        return CampaignNumbers(landings, 0, 0, Decimal("0.00"), Decimal("0.00"), None, None)
    baskets = Basket.vouchers.through.objects.filter(voucher__offers=campaign.offer_id) \
        .exclude(basket__status=Basket.MERGED).values("basket_id").distinct().count()
    discounts = OrderDiscount.objects.filter(offer_id=campaign.offer_id)
    discount = discounts.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    with_it = Order.objects.filter(Q(discounts__offer_id=campaign.offer_id)).distinct()
    totals = Order.objects.filter(pk__in=with_it.values("pk")).aggregate(n=Count("pk"), revenue=Sum("total_incl_tax"),
                                                                          avg=Avg("total_incl_tax"))
    end = min(d for d in (campaign.ended_at, campaign.ends_at, now) if d)
    without = Order.objects.filter(date_placed__gte=campaign.starts_at, date_placed__lt=end) \
        .exclude(pk__in=with_it.values("pk")).aggregate(avg=Avg("total_incl_tax"))["avg"]
    q = Decimal("0.01")
    return CampaignNumbers(
        landings=landings, baskets=baskets, orders=totals["n"], discount=discount,
        revenue=totals["revenue"] or Decimal("0.00"),
        average_order=totals["avg"].quantize(q) if totals["avg"] is not None else None,
        average_order_without=without.quantize(q) if without is not None else None,
    )


def _landings(campaign):
    from ..core.models import JourneyEvent

    return JourneyEvent.objects.filter(kind=events.Kind.CAMPAIGN_LANDING, tool="campaigns",
                                       ref=str(campaign.pk)).count()


@dataclass(frozen=True)
class ChannelNumbers:
    channel: str
    landings: int
    orders: int
    discount: Decimal
    revenue: Decimal


def numbers_by_channel(start, end) -> list[ChannelNumbers]:
    """Landings, orders, discount and revenue of campaign discounts between ``start`` and ``end``, per channel
    (only channels with something to show, busiest first)."""
    from ..core.models import JourneyEvent

    campaigns = list(Campaign.objects.values_list("pk", "offer_id", "channel"))
    channel_of = {str(pk): channel for pk, _offer, channel in campaigns}
    channel_of_offer = {offer: channel for _pk, offer, channel in campaigns if offer}
    totals = {}

    def row(channel):
        return totals.setdefault(channel, [0, 0, Decimal("0.00"), Decimal("0.00")])

    landings = JourneyEvent.objects.filter(kind=events.Kind.CAMPAIGN_LANDING, tool="campaigns", created_at__gte=start,
                                           created_at__lt=end).values_list("ref").annotate(n=Count("id"))
    for ref, n in landings.values_list("ref", "n"):
        if ref in channel_of:
            row(channel_of[ref])[0] += n
    if channel_of_offer:
        discounts = OrderDiscount.objects.filter(offer_id__in=list(channel_of_offer), order__date_placed__gte=start,
                                                 order__date_placed__lt=end)
        for offer_id, orders, amount, revenue in discounts.values_list("offer_id").annotate(
                orders=Count("order_id", distinct=True), amount=Sum("amount"), revenue=Sum("order__total_incl_tax"),
        ).values_list("offer_id", "orders", "amount", "revenue"):
            numbers = row(channel_of_offer[offer_id])
            numbers[1] += orders
            numbers[2] += amount or 0
            numbers[3] += revenue or 0
    result = [ChannelNumbers(channel, *values) for channel, values in totals.items()]
    return sorted(result, key=lambda r: (-r.landings, -r.orders, r.channel))


def live_campaigns(now=None):
    """Campaigns whose discount applies now."""
    now = now or timezone.now()
    return Campaign.objects.filter(is_draft=False, archived=False, ended_at__isnull=True, starts_at__lte=now) \
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
