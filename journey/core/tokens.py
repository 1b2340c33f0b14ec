"""Opaque link tokens: 192 bits in the link, only a SHA-256 digest in the database, one purpose, an expiry.

An unknown, tampered, expired or wrong-purpose token all resolve to ``None``: callers show one friendly page for
all of them and never say which.

A token is random, or — ``per_object=True``, what the outbox's mails use — one per ``(purpose, object_id)``: its 192
bits are an HMAC of both under ``SECRET_KEY``, so issuing it again (a mail retried after a transient ESP error) gives
the same link and adds no row.  Either way the raw value is never stored: the outbox keeps a sent mail's text with
its tokens blanked out (:func:`collecting`, :func:`redact`).
"""

import base64
import hashlib
import re
import secrets
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import LinkToken

TOKEN_BYTES = 24  # 192 bits; urlsafe base64 → 32 characters
# Stands in for a raw token in text journey keeps (a sent mail's body): the raw value is in the mail only.
REDACTED = "token-not-stored"
_RAW = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])")
_issued: ContextVar[set | None] = ContextVar("journey_issued_tokens", default=None)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _raw(purpose: str, object_id, per_object: bool) -> str:
    if not per_object:
        return secrets.token_urlsafe(TOKEN_BYTES)
    mac = salted_hmac("journey.core.tokens", f"{purpose}:{object_id}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(mac[:TOKEN_BYTES]).decode("ascii")


def _note(raws):
    collector = _issued.get()
    if collector is not None:
        collector.update(raws)


def issue(purpose: str, *, object_id="", data=None, ttl: timedelta, now=None, per_object=False) -> str:
    """Create a token and return the raw value to put in a link (it is not stored).  ``per_object``: the one token
    of ``(purpose, object_id)``, created the first time and the same value every time after (see the module doc)."""
    return issue_many(purpose, [(object_id, data)], ttl=ttl, now=now, per_object=per_object)[0]


def issue_many(purpose: str, items, *, ttl: timedelta, now=None, per_object=False) -> list[str]:
    """Like ``issue`` for many ``(object_id, data)`` pairs at once (one INSERT); returns the raw tokens in order."""
    now = now or timezone.now()
    raws, rows = [], []
    for object_id, data in items:
        raw = _raw(purpose, object_id, per_object)
        raws.append(raw)
        rows.append(LinkToken(purpose=purpose, digest=_digest(raw), object_id=str(object_id), data=data or {},
                              expires_at=now + ttl))
    # A per-object token issued before keeps its row (and its expiry): the digest is unique.
    LinkToken.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=per_object)
    _note(raws)
    return raws


@contextmanager
def collecting():
    """Collect the raw tokens issued inside the block (in this thread or task) into the set it yields."""
    raws = set()
    reset = _issued.set(raws)
    try:
        yield raws
    finally:
        _issued.reset(reset)


def redact(text: str, raws) -> str:
    """``text`` with each of the raw tokens ``raws`` replaced by :data:`REDACTED`."""
    if not raws or not text:
        return text
    return _RAW.sub(lambda match: REDACTED if match.group(0) in raws else match.group(0), text)


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
