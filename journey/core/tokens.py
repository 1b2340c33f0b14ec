"""Opaque link tokens: 192 random bits in the link, only a SHA-256 digest in the database, one purpose, an expiry.

An unknown, tampered, expired or wrong-purpose token all resolve to ``None``: callers show one friendly page for
all of them and never say which.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from .models import LinkToken

TOKEN_BYTES = 24  # 192 bits; urlsafe base64 → 32 characters


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue(purpose: str, *, object_id="", data=None, ttl: timedelta, now=None) -> str:
    """Create a token and return the raw value to put in a link (it is not stored)."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    now = now or timezone.now()
    LinkToken.objects.create(
        purpose=purpose, digest=_digest(raw), object_id=str(object_id), data=data or {}, expires_at=now + ttl
    )
    return raw


def issue_many(purpose: str, items, *, ttl: timedelta, now=None) -> list[str]:
    """Like ``issue`` for many ``(object_id, data)`` pairs at once (one INSERT); returns the raw tokens in order."""
    now = now or timezone.now()
    raws, rows = [], []
    for object_id, data in items:
        raw = secrets.token_urlsafe(TOKEN_BYTES)
        raws.append(raw)
        rows.append(LinkToken(purpose=purpose, digest=_digest(raw), object_id=str(object_id), data=data or {},
                              expires_at=now + ttl))
    LinkToken.objects.bulk_create(rows, batch_size=1000)
    return raws


def resolve(purpose: str, raw: str, *, now=None, record_use=True):
    """The live LinkToken for ``raw`` and ``purpose``, or None.  Expiry is exclusive: valid while now < expires_at."""
    if not raw or len(raw) > 100:
        return None
    now = now or timezone.now()
    token = LinkToken.objects.filter(digest=_digest(raw), purpose=purpose, expires_at__gt=now).first()
    if token and record_use:
        LinkToken.objects.filter(pk=token.pk).update(use_count=F("use_count") + 1, last_used_at=now)
    return token


def purge_expired(now=None, *, grace=timedelta(days=30)) -> int:
    """Delete tokens that expired more than ``grace`` ago."""
    now = now or timezone.now()
    deleted, _ = LinkToken.objects.filter(expires_at__lt=now - grace).delete()
    return deleted


def purge_job(via="tick"):
    return f"deleted {purge_expired()} expired token(s)"
