"""The customer's profile form (account page, and optionally registration): birthday, marketing consent, language."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext_lazy as _

from .models import CustomerProfile
from .services import (
    OLDEST_BIRTH_YEAR,
    UNCHANGED,
    consent_wording,
    language_choices,
    update_profile,
    validate_birthday,
)

Consent = CustomerProfile.Consent


class ProfileForm(forms.Form):
    birth_day = forms.TypedChoiceField(
        label=_("Day"), required=False, coerce=int, empty_value=None,
        choices=[("", _("Day"))] + [(d, d) for d in range(1, 32)])
    birth_month = forms.TypedChoiceField(
        label=_("Month"), required=False, coerce=int, empty_value=None,
        choices=[("", _("Month"))] + list(MONTHS.items()))
    birth_year = forms.IntegerField(
        label=_("Year (optional)"), required=False, min_value=OLDEST_BIRTH_YEAR,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "bday-year", "placeholder": "1990"}))
    marketing_consent = forms.ChoiceField(
        required=False, widget=forms.RadioSelect,
        choices=[(Consent.GRANTED, _("Yes, please")), (Consent.WITHDRAWN, _("No, thanks"))])
    language = forms.ChoiceField(label=_("Preferred language for our mails"), required=False)

    def __init__(self, *args, profile=None, **kwargs):
        if profile is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "birth_day": profile.birth_day, "birth_month": profile.birth_month, "birth_year": profile.birth_year,
                "marketing_consent": profile.marketing_consent, "language": profile.language,
            }
        super().__init__(*args, **kwargs)
        self.profile = profile
        self.fields["birth_year"].max_value = timezone.localdate().year
        self.fields["marketing_consent"].label = consent_wording()
        self.fields["language"].choices = [("", _("Same as the shop"))] + language_choices()

    def clean(self):
        data = super().clean()
        month, day, year = data.get("birth_month"), data.get("birth_day"), data.get("birth_year")
        if not self.has_error("birth_year") and not self.has_error("birth_day") and not self.has_error("birth_month"):
            try:
                validate_birthday(month, day, year)
            except ValidationError as exc:
                self.add_error("birth_day", exc)
        return data

    def save(self, user, *, source):
        """Apply the customer's choices through the profile service; returns (profile, changes)."""
        data = self.cleaned_data
        birthday = None if data.get("birth_month") is None else (data["birth_month"], data["birth_day"],
                                                                 data.get("birth_year"))
        consent = data.get("marketing_consent") or UNCHANGED
        return update_profile(user, birthday=birthday, consent=consent, wording=consent_wording(), source=source,
                              language=data.get("language") or "")
