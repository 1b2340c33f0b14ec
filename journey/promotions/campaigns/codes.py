"""Discount codes of campaigns: drawn at random from an alphabet without look-alikes, checked, never reused.

Codes are ``PREFIX-XXXX-XXXX``; :mod:`.batches` turns thousands of them into an Oscar ``VoucherSet``.
"""

from __future__ import annotations

import secrets

from django.db import connection
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from ...exceptions import CampaignError
from .models import CODE_ALPHABET, CODE_RE, PREFIX_RE, normalise_code

Voucher = get_model("voucher", "Voucher")

MIN_CODE_LENGTH = 6
MAX_CODE_LENGTH = 16
MAX_CODES_PER_BATCH = 1_000_000

# 256 byte values onto the 32-character alphabet: each character equally likely (256 is a multiple of 32).
_BYTE_TO_CHAR = bytes(ord(CODE_ALPHABET[i % len(CODE_ALPHABET)]) for i in range(256))


def random_codes(prefix, length, n):
    """``n`` random codes (not checked for uniqueness): ``PREFIX-XXXX-XXXX``."""
    raw = secrets.token_bytes(n * length).translate(_BYTE_TO_CHAR).decode("ascii")
    head = f"{prefix}-" if prefix else ""
    groups = range(0, length, 4)
    return [head + "-".join(raw[i + g:i + min(g + 4, length)] for g in groups) for i in range(0, n * length, length)]


def random_code(prefix, length):
    return random_codes(prefix, length, 1)[0]


def unused_code(prefix="", length=8):
    """One random code no Oscar voucher has yet."""
    while True:
        code = random_code(prefix, length)
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


def fresh_codes(prefix, length, wanted):
    """``wanted`` distinct codes none of which is an existing voucher code."""
    codes = set()
    while len(codes) < wanted:
        draw = set(random_codes(prefix, length, wanted - len(codes)))
        draw -= codes
        if draw:
            draw -= existing_codes(draw)
        codes |= draw
    return list(codes)


def existing_codes(codes):
    """Which of ``codes`` are already voucher codes."""
    codes, size = list(codes), (10_000 if connection.vendor == "postgresql" else 500)
    taken = set()
    for i in range(0, len(codes), size):
        taken.update(Voucher.objects.filter(code__in=codes[i:i + size]).values_list("code", flat=True))
    return taken


def code_is_well_formed(code: str) -> bool:
    return bool(CODE_RE.match(code or ""))

