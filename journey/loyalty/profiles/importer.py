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

import codecs
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
from django.utils.translation import gettext

from ...core.analyze import analyze_after_bulk_write
from ...exceptions import ProfileImportError
from .models import CustomerProfile
from .services import update_profile, validate_birthday

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
TOO_MANY_CELLS = object()  # key of a row's values: the message when the row has more cells than the header
DELIMITERS = (",", ";", "\t")
UTF8_LETTER = re.compile(rb"\xc3[\x80-\xbf]")  # À-ÿ in UTF-8; as Windows-1252 it would read "Ã©" and the like
# The longest cell each column takes (an email address is at most 254 characters); a longer cell rejects its row.
MAX_CELL = {"email": 254, "consent_text": 5000}
DEFAULT_MAX_CELL = 500
SHOWN = 40  # characters of a bad cell quoted back in a message


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
        text = gettext("%(rows)s rows: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
                       "%(rejected)s rejected") % {
            "rows": len(self.rows), "created": self.count("created"), "updated": self.count("updated"),
            "unchanged": self.count("unchanged"), "rejected": self.count("rejected")}
        return f"{text} {gettext('(dry run: nothing saved)')}" if self.dry_run else text


def short(value: str) -> str:
    """At most SHOWN characters of a cell, so a huge cell is not echoed back whole."""
    return value if len(value) <= SHOWN else value[:SHOWN] + "\u2026"


def shown(value: str) -> str:
    """A cell quoted in a message."""
    return repr(short(value))


def decode(raw: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM), UTF-16 with its BOM (Excel's "Unicode text"), else
    Windows-1252 (what Excel saves in Spain and the US).  Raises ProfileImportError for anything else."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ProfileImportError(gettext("The file starts as UTF-16 text but is not: save it as CSV UTF-8.")) \
                from None
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            # A BOM or UTF-8 letters (é is C3 A9) say UTF-8: reading the rest as Windows-1252 would garble them.
            if raw.startswith(codecs.BOM_UTF8) or UTF8_LETTER.search(raw, 0, exc.start):
                line = raw.count(b"\n", 0, exc.start) + 1
                raise ProfileImportError(gettext("The file is UTF-8 text but line %(line)s is not UTF-8: save it "
                                                 "again as CSV UTF-8.") % {"line": line}) from None
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                raise ProfileImportError(gettext("The file is not text in UTF-8 or Windows-1252: save it as CSV "
                                                 "UTF-8.")) from None
    if "\x00" in text:
        raise ProfileImportError(gettext("The file is not CSV text (is it an Excel workbook? Save it as CSV UTF-8)."))
    return text


def _delimiter(first_line: str) -> str:
    """The separator the header line uses (column names never contain one); a comma when it has none."""
    counts = {delimiter: first_line.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _rows(reader):
    """The reader's rows; a line the csv module cannot read stops the whole import with its line number."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                message = gettext("Line %(line)s cannot be read: a cell is longer than %(limit)s characters. "
                                  "Nothing was imported.") % {"line": reader.line_num, "limit": csv.field_size_limit()}
            else:
                message = gettext("Line %(line)s cannot be read (%(error)s). Nothing was imported.") % {
                    "line": reader.line_num, "error": exc}
            raise ProfileImportError(message) from None
        yield row


def _reader(text: str):
    """(columns, delimiter, reader, rows) of CSV ``text``; ProfileImportError for a file without a usable header."""
    text = text.removeprefix("\ufeff")
    first_line = next((line.rstrip("\r\n") for line in io.StringIO(text, newline="") if line.strip()), "")
    if not first_line:
        raise ProfileImportError(gettext("The file is empty."))
    delimiter = _delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = _rows(reader)
    header = next((row for row in rows if any(cell.strip() for cell in row)), None)
    if header is None:  # only quotes and separators
        raise ProfileImportError(gettext("The file is empty."))
    columns = [re.sub(r"[\s-]+", "_", name.strip().lower()) for name in header]
    if "email" not in columns:
        if any("@" in cell for cell in header):
            raise ProfileImportError(gettext("The first line must name the columns (email, birthday, …) but "
                                             "it looks like data: add a header line."))
        raise ProfileImportError(gettext("The first line has no 'email' column. Separate the columns with commas, "
                                         "semicolons or tabs, and name them on the first line (it reads "
                                         "%(line)s).") % {"line": shown(first_line)})
    repeated = sorted({column for column in columns if column and columns.count(column) > 1})
    if repeated:
        raise ProfileImportError(gettext("The first line names a column twice: %(columns)s.")
                                 % {"columns": ", ".join(repeated)})
    return columns, delimiter, reader, rows


def import_profiles(text: str, *, source="import", dry_run=False, now=None) -> ImportReport:
    """Import profiles from CSV ``text``; returns the per-row report.  Raises ProfileImportError for a bad file."""
    now = now or timezone.now()
    columns, delimiter, reader, rows = _reader(text)
    report = ImportReport(dry_run=dry_run)
    unknown = [c for c in columns if c and c not in KNOWN_COLUMNS]
    if unknown:
        report.warnings.append(gettext("Ignored unknown columns: %(columns)s") % {"columns": ", ".join(unknown)})
    with transaction.atomic():
        batch = []
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            values = dict(zip(columns, (cell.strip() for cell in row), strict=False))
            extra = len(row) - len(columns)
            if extra > 0 and any(cell.strip() for cell in row[len(columns):]):
                values[TOO_MANY_CELLS] = gettext(
                    "line has %(cells)s cells but the first line names %(columns)s columns (put a cell that "
                    "contains %(delimiter)s in double quotes)") % {
                    "cells": len(row), "columns": len(columns), "delimiter": repr(delimiter)}
            batch.append((reader.line_num, values))
            if len(batch) >= BATCH:
                _import_batch(batch, report, source, now)
                batch = []
        if batch:
            _import_batch(batch, report, source, now)
        if dry_run:
            transaction.set_rollback(True)
        else:  # a large import changes the birthday job's plans: fresh statistics (PostgreSQL)
            analyze_after_bulk_write(CustomerProfile, rows=report.count("created") + report.count("updated"))
    return report


def _import_batch(batch, report, source, now):
    emails = {values.get("email", "").lower() for _line, values in batch
              if len(values.get("email", "")) <= MAX_CELL["email"]}
    users = {}
    for user in get_user_model().objects.annotate(email_lower=Lower("email")).filter(email_lower__in=emails):
        users.setdefault(user.email_lower, []).append(user)
    existing = set(CustomerProfile.objects.filter(
        user__in=[u for found in users.values() for u in found]).values_list("user_id", flat=True))
    for line, values in batch:
        email = values.get("email", "")
        errors = [values.pop(TOO_MANY_CELLS)] if TOO_MANY_CELLS in values else []
        too_long = _too_long(values)
        if too_long:
            report.rows.append(RowResult(line, short(email), "rejected", errors + too_long))
            continue
        found = users.get(email.lower(), []) if email else []
        if not email:
            errors.append(gettext("no email"))
        elif not found:
            errors.append(gettext("unknown email %(email)s: no customer account has it") % {"email": shown(email)})
        elif len(found) > 1:
            errors.append(gettext("%(count)s customer accounts have the email %(email)s")
                          % {"count": len(found), "email": shown(email)})
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


def _too_long(values) -> list:
    """A message for each cell longer than its column takes (checked before anything else reads the row)."""
    return [gettext("%(column)s is too long (%(length)s characters; at most %(limit)s)")
            % {"column": column, "length": len(value), "limit": MAX_CELL.get(column, DEFAULT_MAX_CELL)}
            for column, value in values.items()
            if column in KNOWN_COLUMNS and len(value) > MAX_CELL.get(column, DEFAULT_MAX_CELL)]


def _past_when(values, column, expected, errors, now):
    """The moment in ``column`` if it is given, parses and is not in the future; otherwise None (problems go to
    ``errors``)."""
    raw = values.get(column, "")
    if not raw:
        return None
    when = _parse_when(raw)
    if when is None:
        errors.append(gettext("%(column)s %(value)s is not %(expected)s")
                      % {"column": column, "value": shown(raw), "expected": expected})
    elif when > now:
        errors.append(gettext("%(column)s %(value)s is in the future") % {"column": column, "value": shown(raw)})
    else:
        return when
    return None


def _parse(values, errors, now) -> dict:
    """The update_profile arguments a row asks for; problems go to ``errors``."""
    changes = {}
    birthday = _parse_birthday(values, errors)
    if birthday is not None:
        changes["birthday"] = birthday
        when = _past_when(values, "birthday_entered_at", gettext("a date (use YYYY-MM-DD)"), errors, now)
        if when is not None:
            changes["birthday_entered_at"] = when
    consent = values.get("marketing_consent", "")
    if consent:
        state = CONSENT_VALUES.get(consent.lower())
        if state is None:
            errors.append(gettext("bad consent value %(value)s (use yes/no or granted/withdrawn)")
                          % {"value": shown(consent)})
        else:
            changes["consent"] = state
            changes["wording"] = values.get("consent_text") or DEFAULT_WORDING
            if values.get("consent_source"):
                changes["source"] = values["consent_source"][:64]
            when = _past_when(values, "consent_at", gettext("a date or date-time (use YYYY-MM-DD HH:MM)"), errors,
                              now)
            if when is not None:
                changes["consent_at"] = when
    language = values.get("language", "")
    if language:
        codes = {code.lower(): code for code, _name in settings.LANGUAGES}
        if language.lower() not in codes:
            errors.append(gettext("unknown language %(value)s (use one of %(codes)s)")
                          % {"value": shown(language), "codes": ", ".join(codes.values())})
        else:
            changes["language"] = codes[language.lower()]
    return changes


def _parse_birthday(values, errors):
    text = values.get("birthday", "")
    month = day = year = None
    if text:
        match = re.fullmatch(r"(?:([0-9]{4})-|--)?([0-9]{1,2})-([0-9]{1,2})", text)
        if not match:
            errors.append(gettext("birthday %(value)s is not a date (use YYYY-MM-DD or MM-DD)")
                          % {"value": shown(text)})
            return None
        year = int(match[1]) if match[1] else None
        month, day = int(match[2]), int(match[3])
    elif values.get("birth_month") or values.get("birth_day") or values.get("birth_year"):
        parts = {}
        for name in ("birth_month", "birth_day", "birth_year"):
            cell = values.get(name, "")
            if cell and not re.fullmatch(r"[0-9]{1,4}", cell):  # not isdigit(): "²" is a digit int() refuses
                errors.append(gettext("%(column)s %(value)s is not a number (at most 4 digits)")
                              % {"column": name, "value": shown(cell)})
                return None
            parts[name] = int(cell) if cell else None
        month, day, year = parts["birth_month"], parts["birth_day"], parts["birth_year"]
    else:
        return None
    try:
        validate_birthday(month, day, year)
    except ValidationError as exc:
        errors.append(gettext("impossible birthday: %(reason)s") % {"reason": " ".join(str(m) for m in exc.messages)})
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
