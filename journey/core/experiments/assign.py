"""Who is in which group: a deterministic, keyed draw per person, tool and period, recorded once.

* ``person_key``: an HMAC (key derived from SECRET_KEY) of ``user:<id>``, else of the normalized email, else of
  the visitor id.  Once a person is a known customer their key is the customer, so the draw is the same on every
  device; the address itself is never stored.
* ``draw``: a uniform number in [0, 1) from HMAC(person, tool, period salt); below the holdout share = control.
* ``decide``: the groups of a batch of people with a fixed number of queries.  A person already recorded in the
  period (under any of their keys: the email they had as a guest, the customer they became) keeps that group;
  the others are inserted (ON CONFLICT DO NOTHING) and read back, so two concurrent senders act on the one stored
  row — never on two different draws."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ...conf import journey_settings
from ...exceptions import JourneyError
from .models import Assignment, Experiment

Group = Assignment.Group
MAX_SHARE = Decimal("0.9")
_DERIVED: dict[str, bytes] = {}


def _secret() -> bytes:
    secret = settings.SECRET_KEY
    if secret not in _DERIVED:
        _DERIVED.clear()
        _DERIVED[secret] = hashlib.sha256(b"journey.core.experiments|" + secret.encode()).digest()
    return _DERIVED[secret]


def _mac(text: str) -> str:
    return hmac.new(_secret(), text.encode(), hashlib.sha256).hexdigest()


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def person_key(*, user_id=None, email="", visitor="") -> str:
    """The keyed hash journey records for a person ("" when nothing identifies them)."""
    if user_id:
        return _mac(f"user:{int(user_id)}")[:32]
    email = normalize_email(email)
    if email:
        return _mac(f"email:{email}")[:32]
    if visitor:
        return _mac(f"visitor:{visitor}")[:32]
    return ""


def draw(person: str, key: str, salt: str) -> float:
    """The person's uniform number in [0, 1) for this tool and period."""
    return int(_mac(f"draw|{key}|{salt}|{person}")[:13], 16) / float(16**13)


def group_for(person: str, experiment: Experiment) -> str:
    return Group.CONTROL if draw(person, experiment.key, experiment.salt) < float(experiment.holdout_share) \
        else Group.TREATMENT


# Periods --------------------------------------------------------------------------------------------------
def holdout_spec(key):
    from ..registry import registry

    try:
        return registry.get(key).holdout
    except Exception:  # an unknown tool is not measured
        return None


def parse_share(value) -> Decimal:
    """A share from admin or code: 0–0.9 as a Decimal ("0.2", 0.2, "20 %" are all 20 %); bad input raises."""
    text = str(value).strip().replace(",", ".")
    percent = text.endswith("%")
    try:
        share = Decimal(text.rstrip("%").strip())
    except (InvalidOperation, ValueError):
        raise JourneyError(_("Enter the holdout share as a number between 0 and 0.9 (e.g. 0.1 for 10 %).")) from None
    if not share.is_finite():
        raise JourneyError(_("The holdout share must be between 0 and 90 %."))
    if percent or share > 1:
        share = share / 100
    if share < 0 or share > MAX_SHARE:
        raise JourneyError(_("The holdout share must be between 0 and 90 %."))
    return share.quantize(Decimal("0.001"))


def current(keys, now=None) -> dict[str, Experiment]:
    """The open period of each tool in ``keys`` that is measured (created with the tool's default share at first
    use); one query when they all exist."""
    keys = set(keys)
    found = {e.key: e for e in Experiment.objects.filter(key__in=keys, ended_at__isnull=True)}
    start_share = journey_settings.HOLDOUT_START_SHARE
    for key in keys - set(found):
        spec = holdout_spec(key)
        if spec is None:
            continue
        share = parse_share(spec.share if start_share is None else start_share)
        found[key] = _open(key, share, spec.surface, spec.window_days, now)
    return found


def _open(key, share, surface, window_days, now=None) -> Experiment:
    try:
        with transaction.atomic():
            return Experiment.objects.create(key=key, holdout_share=share, surface=surface, window_days=window_days,
                                             salt=secrets.token_hex(8), started_at=now or timezone.now())
    except IntegrityError:  # another process opened it first
        return Experiment.objects.get(key=key, ended_at__isnull=True)


def ensure_all(now=None) -> list[Experiment]:
    """An open period for every registered tool that declares a holdout (the admin lists them all)."""
    from ..registry import registry

    return list(current([t.key for t in registry.all() if t.holdout is not None], now).values())


def set_share(key: str, share, now=None) -> Experiment:
    """Change a tool's holdout share: the open period ends now and a new one starts (numbers never mix shares).
    The same share again changes nothing."""
    share = parse_share(share)
    now = now or timezone.now()
    spec = holdout_spec(key)
    with transaction.atomic():
        open_ = Experiment.objects.select_for_update().filter(key=key, ended_at__isnull=True).first()
        if open_ is not None and open_.holdout_share == share:
            return open_
        if open_ is None and spec is None:
            raise JourneyError(_("This tool cannot be measured with a holdout."))
        surface = open_.surface if open_ else spec.surface
        window = open_.window_days if open_ else spec.window_days
        if open_ is not None:
            Experiment.objects.filter(pk=open_.pk).update(ended_at=now)
        return Experiment.objects.create(key=key, holdout_share=share, surface=surface, window_days=window,
                                         salt=secrets.token_hex(8), started_at=now)


# Decisions ------------------------------------------------------------------------------------------------
@dataclass
class Person:
    """Someone a tool is about to act on: ``key`` is how they are recorded, ``also`` their other keys (the email
    of a customer), ``user_id`` kept on the row so erasure finds it."""

    key: str
    also: tuple[str, ...] = ()
    user_id: int | None = None
    extra: dict = field(default_factory=dict)


def person(*, user_id=None, email="", visitor="") -> Person:
    key = person_key(user_id=user_id, email=email, visitor=visitor)
    also = tuple(k for k in (person_key(email=email) if user_id and email else "",) if k)
    return Person(key, also, user_id or None)


def decide(experiment: Experiment, people: list[Person], now=None) -> dict[str, str]:
    """{person key: group} for ``people`` in ``experiment``, recorded (idempotently) with the decision time.
    Three queries for the whole batch: read what is recorded, insert the new ones, read them back."""
    people = [p for p in people if p.key]
    if not people:
        return {}
    now = now or timezone.now()
    all_keys = {k for p in people for k in (p.key, *p.also)}
    stored = dict(Assignment.objects.filter(experiment=experiment, person__in=all_keys)
                  .values_list("person", "group"))
    groups, new = {}, {}
    for p in people:
        known = next((stored[k] for k in (p.key, *p.also) if k in stored), None)
        if known is not None:
            groups[p.key] = known
        elif p.key not in new:
            new[p.key] = Assignment(experiment=experiment, person=p.key, group=group_for(p.key, experiment),
                                    decided_at=now, window_ends_at=now + timedelta(days=experiment.window_days),
                                    user_id=p.user_id)
    if new:
        Assignment.objects.bulk_create(new.values(), ignore_conflicts=True, batch_size=1000)
        # Read back: under concurrency the row another sender inserted first is the one that counts.
        groups.update(Assignment.objects.filter(experiment=experiment, person__in=list(new))
                      .values_list("person", "group"))
    return groups
