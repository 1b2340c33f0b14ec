"""Import customer profiles (birthday, marketing consent, language) from a CSV file, with a per-row report.

Rows are matched to customers by email (case-insensitive).  A row with any problem is rejected whole, with every
reason; good rows are applied.  Importing the same file again changes nothing (rows come back "unchanged").
Columns (header names are case-insensitive; only ``email`` is required; an empty cell leaves the value as it is):

``email``, ``birthday`` (``YYYY-MM-DD``, ``MM-DD`` or ``--MM-DD``) or ``birth_month`` + ``birth_day`` (+
``birth_year``), ``birthday_entered_at`` (when the customer gave it, ISO date; default: now), ``marketing_consent``
(yes/no, granted/withdrawn, true/false, 1/0, sí/si), ``consent_at`` (ISO date or date-time; default: now),
``consent_text`` (the wording the customer agreed to), ``consent_source`` (where; default ``import``),
``language`` (a code from LANGUAGES).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ..exceptions import JourneyError
from .models import CustomerProfile
from .profiles import update_profile, validate_birthday

Consent = CustomerProfile.Consent
KNOWN_COLUMNS = ("email", "birthday", "birth_month", "birth_day", "birth_year", "birthday_entered_at",
                 "marketing_consent", "consent_at", "consent_text", "consent_source", "language")
CONSENT_VALUES = {
    **dict.fromkeys(("granted", "yes", "y", "true", "1", "si", "sí", "opt-in", "optin", "subscribed"),
                    Consent.GRANTED),
    **dict.fromkeys(("withdrawn", "no", "n", "false", "0", "opt-out", "optout", "unsubscribed"), Consent.WITHDRAWN),
}
DEFAULT_WORDING = "(wording not given in the import file)"
BATCH = 1000


class ProfileImportError(JourneyError, ValueError):
    """The file as a whole cannot be imported (not CSV text, no email column)."""


@dataclass
class RowResult:
    line: int
    email: str
    status: str  # created | updated | unchanged | rejected
    errors: list = field(default_factory=list)


@dataclass
class ImportReport:
    rows: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    dry_run: bool = False

    def count(self, status):
        return sum(1 for row in self.rows if row.status == status)

    @property
    def rejected(self):
        return [row for row in self.rows if row.status == "rejected"]

    def summary(self):
        return (f"{len(self.rows)} rows: {self.count('created')} created, {self.count('updated')} updated, "
                f"{self.count('unchanged')} unchanged, {self.count('rejected')} rejected"
                + (" (dry run: nothing saved)" if self.dry_run else ""))


def decode(raw: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM), else Windows-1252 (what Excel saves in Spain and the US)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            raise ProfileImportError("The file is not text in UTF-8 or Windows-1252: save it as CSV UTF-8.") from None


def _reader(text: str):
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ProfileImportError("The file is empty.") from None
    columns = [re.sub(r"[\s-]+", "_", name.strip().lower()) for name in header]
    if "email" not in columns:
        raise ProfileImportError("The file has no 'email' column (the first line must name the columns).")
    return columns, reader


def import_profiles(text: str, *, source="import", dry_run=False, now=None) -> ImportReport:
    """Import profiles from CSV ``text``; returns the per-row report.  Raises ProfileImportError for a bad file."""
    now = now or timezone.now()
    columns, reader = _reader(text)
    report = ImportReport(dry_run=dry_run)
    unknown = [c for c in columns if c and c not in KNOWN_COLUMNS]
    if unknown:
        report.warnings.append(f"Ignored unknown columns: {', '.join(unknown)}")
    with transaction.atomic():
        batch = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            batch.append((reader.line_num, dict(zip(columns, (cell.strip() for cell in row), strict=False))))
            if len(batch) >= BATCH:
                _import_batch(batch, report, source, now)
                batch = []
        if batch:
            _import_batch(batch, report, source, now)
        if dry_run:
            transaction.set_rollback(True)
    return report


def _import_batch(batch, report, source, now):
    emails = {values.get("email", "").lower() for _line, values in batch}
    users = {}
    for user in get_user_model().objects.annotate(email_lower=Lower("email")).filter(email_lower__in=emails):
        users.setdefault(user.email_lower, []).append(user)
    existing = set(CustomerProfile.objects.filter(
        user__in=[u for found in users.values() for u in found]).values_list("user_id", flat=True))
    for line, values in batch:
        email = values.get("email", "")
        errors = []
        found = users.get(email.lower(), []) if email else []
        if not email:
            errors.append("no email")
        elif not found:
            errors.append(f"unknown email {email!r}: no customer account has it")
        elif len(found) > 1:
            errors.append(f"{len(found)} customer accounts have the email {email!r}")
        changes = _parse(values, errors, now)
        if errors:
            report.rows.append(RowResult(line, email, "rejected", errors))
            continue
        user = found[0]
        try:
            with transaction.atomic():
                _profile, changed = update_profile(user, source=changes.pop("source", source), now=now, **changes)
        except ValidationError as exc:
            report.rows.append(RowResult(line, email, "rejected", list(exc.messages)))
            continue
        status = "unchanged" if not changed else ("updated" if user.pk in existing else "created")
        existing.add(user.pk)
        report.rows.append(RowResult(line, email, status))


def _past_when(values, column, expected, errors, now):
    """The moment in ``column`` if it is given, parses and is not in the future; otherwise None (problems go to
    ``errors``)."""
    raw = values.get(column, "")
    if not raw:
        return None
    when = _parse_when(raw)
    if when is None:
        errors.append(f"{column} {raw!r} is not {expected}")
    elif when > now:
        errors.append(f"{column} {raw!r} is in the future")
    else:
        return when
    return None


def _parse(values, errors, now) -> dict:
    """The update_profile arguments a row asks for; problems go to ``errors``."""
    changes = {}
    birthday = _parse_birthday(values, errors)
    if birthday is not None:
        changes["birthday"] = birthday
        when = _past_when(values, "birthday_entered_at", "a date (use YYYY-MM-DD)", errors, now)
        if when is not None:
            changes["birthday_entered_at"] = when
    consent = values.get("marketing_consent", "")
    if consent:
        state = CONSENT_VALUES.get(consent.lower())
        if state is None:
            errors.append(f"bad consent value {consent!r} (use yes/no or granted/withdrawn)")
        else:
            changes["consent"] = state
            changes["wording"] = values.get("consent_text") or DEFAULT_WORDING
            if values.get("consent_source"):
                changes["source"] = values["consent_source"][:64]
            when = _past_when(values, "consent_at", "a date or date-time (use YYYY-MM-DD HH:MM)", errors, now)
            if when is not None:
                changes["consent_at"] = when
    language = values.get("language", "")
    if language:
        codes = {code.lower(): code for code, _name in settings.LANGUAGES}
        if language.lower() not in codes:
            errors.append(f"unknown language {language!r} (use one of {', '.join(codes.values())})")
        else:
            changes["language"] = codes[language.lower()]
    return changes


def _parse_birthday(values, errors):
    text = values.get("birthday", "")
    month = day = year = None
    if text:
        match = re.fullmatch(r"(?:(\d{4})-|--)?(\d{1,2})-(\d{1,2})", text)
        if not match:
            errors.append(f"birthday {text!r} is not a date (use YYYY-MM-DD or MM-DD)")
            return None
        year = int(match[1]) if match[1] else None
        month, day = int(match[2]), int(match[3])
    elif values.get("birth_month") or values.get("birth_day") or values.get("birth_year"):
        parts = {}
        for name in ("birth_month", "birth_day", "birth_year"):
            cell = values.get(name, "")
            if cell and not cell.isdigit():
                errors.append(f"{name} {cell!r} is not a number")
                return None
            parts[name] = int(cell) if cell else None
        month, day, year = parts["birth_month"], parts["birth_day"], parts["birth_year"]
    else:
        return None
    try:
        validate_birthday(month, day, year)
    except ValidationError as exc:
        errors.append(f"impossible birthday: {' '.join(str(m) for m in exc.messages)}")
        return None
    return (month, day, year)


def _parse_when(text):
    try:
        return _parse_when_or_raise(text)
    except ValueError:  # well formed but impossible (2024-02-30)
        return None


def _parse_when_or_raise(text):
    when = parse_datetime(text.replace("/", "-"))
    if when is None:
        day = parse_date(text.replace("/", "-")) if re.fullmatch(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}", text) else None
        if day is None:
            return None
        when = datetime.combine(day, time(12))
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    return when
