"""The customer profile service: validate and change a birthday, record a consent choice, set the language.

Every edge (the account page, registration, admin, CSV import) goes through :func:`update_profile`, so a change
of birthday or consent always sets its timestamp, and a consent change always records the wording and the place.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ...conf import journey_settings
from .models import CustomerProfile

Consent = CustomerProfile.Consent
OLDEST_BIRTH_YEAR = 1900
# A marker for "leave this as it is" (None means "clear it" for the birthday).
UNCHANGED = object()


def consent_wording() -> str:
    """The consent question shown to customers, in the active language (what is stored with their answer)."""
    return str(journey_settings.CONSENT_WORDING or _(
        "Send me birthday treats, offers and news by email. I can unsubscribe at any time."))


def language_choices():
    return [(code, name) for code, name in settings.LANGUAGES]


def validate_birthday(month, day, year=None, *, today=None) -> None:
    """Raise ValidationError (with a message for the customer) unless month/day (and the optional year) is a real
    date: no Feb 30, no Apr 31, no month 13; Feb 29 is allowed (without a year, or in a leap year)."""
    today = today or timezone.localdate()
    if month is None and day is None:
        if year is not None:
            raise ValidationError(_("Give the day and month of your birthday too, or leave the year empty."),
                                  code="year_without_date")
        return
    if month is None or day is None:
        raise ValidationError(_("Give both the day and the month of your birthday."), code="incomplete")
    if not 1 <= month <= 12:
        raise ValidationError(_("There is no month %(month)s.") % {"month": month}, code="month")
    longest = calendar.monthrange(2000, month)[1]  # 2000 is a leap year: Feb 29 is a real birthday
    if not 1 <= day <= longest:
        raise ValidationError(_("%(month)s has no day %(day)s.") % {"month": _month_name(month), "day": day},
                              code="day")
    if year is None:
        return
    if not OLDEST_BIRTH_YEAR <= year <= today.year:
        raise ValidationError(_("The year of birth must be between %(first)s and %(last)s.")
                              % {"first": OLDEST_BIRTH_YEAR, "last": today.year}, code="year")
    if month == 2 and day == 29 and not calendar.isleap(year):
        raise ValidationError(_("%(year)s had no 29 February.") % {"year": year}, code="not_leap")
    if date(year, month, day) > today:
        raise ValidationError(_("That date is in the future."), code="future")


def _month_name(month):
    from django.utils.dates import MONTHS

    return MONTHS[month]


def profile_for(user, *, lock=False) -> CustomerProfile:
    """The customer's profile, created empty if they have none yet."""
    queryset = CustomerProfile.objects.select_for_update() if lock else CustomerProfile.objects
    profile, _created = queryset.get_or_create(user=user)
    return profile


@dataclass
class Changes:
    birthday: bool = False
    consent: bool = False
    language: bool = False

    def __bool__(self):
        return self.birthday or self.consent or self.language


def update_profile(user, *, birthday=UNCHANGED, consent=UNCHANGED, wording="", source="", language=UNCHANGED,
                   birthday_entered_at=None, consent_at=None, now=None) -> tuple[CustomerProfile, Changes]:
    """Change what is given (``birthday`` = (month, day, year|None) or None to clear; ``consent`` = "granted" or
    "withdrawn"; ``language`` = a code of LANGUAGES or ""), validate it, save, and return (profile, changes).

    A changed birthday (day or month) sets ``birthday_changed_at`` (``birthday_entered_at`` if given: an import of
    birthdays collected earlier); a changed consent sets its time (``consent_at`` if given), ``wording`` and ``source``.
    Granting consent lifts an earlier unsubscribe from journey's suppression list; withdrawing it cancels the
    marketing mails already scheduled to the customer.  Raises ValidationError for bad values (nothing is saved)."""
    now = now or timezone.now()
    changes = Changes()
    if birthday is not UNCHANGED:
        month, day, year = birthday if birthday is not None else (None, None, None)
        validate_birthday(month, day, year, today=timezone.localdate(now))
    if consent is not UNCHANGED and consent not in (Consent.GRANTED, Consent.WITHDRAWN):
        raise ValidationError(_("Unknown consent value %(value)r.") % {"value": consent}, code="consent")
    if language is not UNCHANGED and language and language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Unknown language %(value)r.") % {"value": language}, code="language")
    with transaction.atomic():
        profile = profile_for(user, lock=True)  # compared and changed under a row lock: concurrent edits queue up
        fields = []
        if birthday is not UNCHANGED:
            if (profile.birth_month, profile.birth_day) != (month, day):
                profile.birth_month, profile.birth_day = month, day
                profile.birthday_changed_at = birthday_entered_at or now
                fields += ["birth_month", "birth_day", "birthday_changed_at"]
                changes.birthday = True
            if profile.birth_year != year:
                profile.birth_year = year
                fields.append("birth_year")
                changes.birthday = True
        if consent is not UNCHANGED and profile.marketing_consent != consent:
            profile.marketing_consent = consent
            profile.consent_changed_at = consent_at or now
            profile.consent_text = str(wording or "")
            profile.consent_source = str(source or "")[:64]
            fields += ["marketing_consent", "consent_changed_at", "consent_text", "consent_source"]
            changes.consent = True
        if language is not UNCHANGED and profile.language != (language or ""):
            profile.language = language or ""
            fields.append("language")
            changes.language = True
        if fields:
            profile.save(update_fields=[*fields, "updated_at"])
        if changes.consent:
            _apply_consent(user, consent)
    return profile, changes


def _apply_consent(user, consent):
    from ...core import outbox
    from ...core.models import Suppression
    from ...core.suppression import normalize

    email = normalize(getattr(user, "email", ""))
    if not email:
        return
    if consent == Consent.GRANTED:
        # An explicit opt-in overrides an earlier unsubscribe (never a bounce or a complaint).
        Suppression.objects.filter(email=email, reason=Suppression.Reason.UNSUBSCRIBED).delete()
    else:
        outbox.cancel_pending_for_email(email, reason="the customer withdrew marketing consent")


UNSUBSCRIBE_SOURCE = "unsubscribe link"


def withdraw_on_unsubscribe(entry, *, now=None) -> int:
    """An address was put on journey's suppression list (``entry``, a ``Suppression``).  When the reason is an
    unsubscribe, record withdrawn marketing consent on the profile of every account using that address (accounts
    without a profile are left alone: they never gave consent here, and the suppression already stops the mail).

    The source is "unsubscribe link" — the link in a journey mail, or the ESP's own unsubscribe link (then its name
    follows, e.g. "unsubscribe link (mailgun unsubscribed)") — or "suppression list" when staff added the address.
    Returns how many profiles changed (a profile already withdrawn is not changed again)."""
    from django.contrib.auth import get_user_model

    from ...core.models import Suppression
    from ...core.suppression import normalize

    email = normalize(entry.email)
    if entry.reason != Suppression.Reason.UNSUBSCRIBED or not email:
        return 0
    if entry.note == UNSUBSCRIBE_SOURCE:
        source = UNSUBSCRIBE_SOURCE
    elif entry.message_id:
        source = f"{UNSUBSCRIBE_SOURCE} ({entry.note})" if entry.note else UNSUBSCRIBE_SOURCE
    else:
        source = "suppression list"
    email_field = get_user_model().get_email_field_name()
    profiles = (CustomerProfile.objects.filter(**{f"user__{email_field}__iexact": email})
                .exclude(marketing_consent=Consent.WITHDRAWN).select_related("user"))
    # What the unsubscribe page tells the customer before they confirm.
    wording = _("You will get no more reminders or offers from us. Mails about your orders are not affected.")
    changed = 0
    for profile in profiles:
        _profile, changes = update_profile(profile.user, consent=Consent.WITHDRAWN, wording=wording, source=source,
                                           now=now)
        changed += changes.consent
    return changed
