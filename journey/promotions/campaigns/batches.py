"""Batches of unique single-use codes for a campaign (an Oscar ``VoucherSet``), made in bulk, and read back.

    batch = batches.generate_codes(campaign, 10_000, prefix="SUMMER")
    for code, used in batches.batch_codes(batch): ...
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from . import codes
from .models import Campaign, CodeBatch
from .offers import sync, unique_name, voucher_window

logger = logging.getLogger(__name__)

Voucher = get_model("voucher", "Voucher")
VoucherSet = get_model("voucher", "VoucherSet")
VoucherApplication = get_model("voucher", "VoucherApplication")

INSERT_CHUNK = 10_000


def generate_codes(campaign: Campaign, count: int, prefix="", length=8) -> CodeBatch:
    """Create ``count`` unique single-use codes for ``campaign`` (an Oscar VoucherSet), in bulk.

    Codes are ``PREFIX-XXXX-XXXX`` from an alphabet without look-alikes, unique against every existing Oscar voucher;
    the vouchers and their links to the campaign's offer are inserted in chunks of 10,000 rows.
    """
    prefix = codes.validate_batch(count, prefix, length)
    if campaign.offer_id is None:
        campaign = sync(campaign)
    start, end = voucher_window(campaign)
    now = timezone.now()
    with transaction.atomic():
        voucher_set = VoucherSet.objects.create(
            name=unique_name(VoucherSet, f"{campaign.name} · {prefix or 'codes'} · {now:%Y-%m-%d %H:%M:%S}",
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
            drawn = sorted(c for c in set(codes.random_codes(prefix, length, wanted)) if c not in seen)
            seen.update(drawn)
            cursor.execute(insert, [name_base, Voucher.SINGLE_USE, start, end, voucher_set.pk, now, drawn])
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
        drawn = codes.fresh_codes(prefix, length, wanted)
        rows = [Voucher(name=name_base + code, code=code, usage=Voucher.SINGLE_USE, start_datetime=start,
                        end_datetime=end, voucher_set_id=voucher_set.pk, date_created=now) for code in drawn]
        try:
            with transaction.atomic():
                created = Voucher.objects.bulk_create(rows)
                through.objects.bulk_create([through(voucher_id=v.pk, conditionaloffer_id=offer_id)
                                             for v in created])
        except IntegrityError:  # a code (or name) was taken meanwhile by someone else: draw this chunk again
            logger.info("journey: code collision while generating a batch; drawing again")
            continue
        made += wanted


def batch_codes(batch: CodeBatch):
    """(code, used) for every code of the batch, in insertion order (for the CSV download)."""
    used = set(VoucherApplication.objects.filter(voucher__voucher_set_id=batch.voucher_set_id)
               .values_list("voucher_id", flat=True))
    for pk, code in Voucher.objects.filter(voucher_set_id=batch.voucher_set_id).order_by("pk") \
            .values_list("pk", "code").iterator(chunk_size=5000):
        yield code, pk in used
