"""Customer profiles in Django admin: staff edit birthdays, consent and language; CSV import with a report."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from ...core.admin_numbers import BoundedNumbersMixin
from ...exceptions import ProfileImportError
from .importer import decode, import_profiles
from .models import CustomerProfile
from .services import UNCHANGED, language_choices, update_profile, validate_birthday

Consent = CustomerProfile.Consent
MAX_UPLOAD_BYTES = 20 * 2**20


class CustomerProfileForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("preferred language"), required=False)

    class Meta:
        model = CustomerProfile
        fields = ["user", "birth_day", "birth_month", "birth_year", "marketing_consent", "consent_text", "language"]
        help_texts = {"consent_text": _("When you record a consent the customer gave you, the wording they agreed "
                                        "to. Left as it is, journey records that staff changed it.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("Same as the shop"))] + language_choices()

    def clean(self):
        data = super().clean()
        try:
            validate_birthday(data.get("birth_month"), data.get("birth_day"), data.get("birth_year"))
        except ValidationError as exc:
            self.add_error("birth_day", exc)
        if self.instance.pk and self.instance.marketing_consent and not data.get("marketing_consent"):
            self.add_error("marketing_consent", _("Consent can be granted or withdrawn, but not set back to "
                                                  "'not asked'."))
        return data


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    dry_run = forms.BooleanField(label=_("Only check the file (save nothing)"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than 20 MB: split it, or use manage.py "
                                    "journey_import_profiles."))
        return upload


@admin.register(CustomerProfile)
class CustomerProfileAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    form = CustomerProfileForm
    list_display = ("user", "birthday", "marketing_consent", "consent_changed_at", "consent_source", "language",
                    "updated_at")
    list_filter = ("marketing_consent", "birth_month", "language")
    search_fields = ("user__email", "user__username", "user__first_name", "user__last_name")
    raw_id_fields = ("user",)
    readonly_fields = ("birthday_changed_at", "consent_changed_at", "consent_source", "created_at", "updated_at")
    change_list_template = "journey/admin/loyalty/customerprofile_change_list.html"
    fieldsets = (
        (None, {"fields": ("user",)}),
        (_("Birthday"), {"fields": ("birth_day", "birth_month", "birth_year", "birthday_changed_at")}),
        (_("Marketing consent"), {"fields": ("marketing_consent", "consent_text", "consent_changed_at",
                                             "consent_source")}),
        (_("Language"), {"fields": ("language",)}),
        (None, {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description=_("birthday"), ordering="birth_month")
    def birthday(self, profile):
        if not profile.birth_month:
            return "—"
        from django.utils.dates import MONTHS

        text = f"{profile.birth_day} {MONTHS[profile.birth_month]}"
        return f"{text} {profile.birth_year}" if profile.birth_year else text

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "user") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        """Through the profile service, so staff changes set the same timestamps and consent records."""
        data = form.cleaned_data
        birthday = None if data.get("birth_month") is None else (data["birth_month"], data["birth_day"],
                                                                 data.get("birth_year"))
        consent = data.get("marketing_consent") or UNCHANGED
        wording = data.get("consent_text") if "consent_text" in form.changed_data else ""
        staff = request.user.get_username()
        profile, _changes = update_profile(
            obj.user, birthday=birthday, consent=consent, language=data.get("language") or "",
            wording=wording or f"Recorded by staff ({staff})", source=f"admin ({staff})"[:64],
        )
        obj.pk = profile.pk
        obj._state.adding = False

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="journey_customerprofile_import"),
                *super().get_urls()]

    def import_view(self, request):
        if not self.has_change_permission(request) or not self.has_add_permission(request):
            raise PermissionDenied
        report, error = None, ""
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                text = decode(form.cleaned_data["file"].read())
                report = import_profiles(text, source=f"admin import ({request.user.get_username()})"[:64],
                                         dry_run=form.cleaned_data["dry_run"])
            except ProfileImportError as exc:
                error = str(exc)
            else:
                level = messages.WARNING if report.rejected else messages.SUCCESS
                self.message_user(request, report.summary(), level)
        context = {
            **self.admin_site.each_context(request), "title": _("Import customer profiles"),
            "opts": self.model._meta, "form": form, "report": report, "error": error,
            "changelist_url": reverse("admin:journey_customerprofile_changelist"),
        }
        return TemplateResponse(request, "journey/admin/loyalty/profile_import.html", context,
                                status=400 if error or (request.method == "POST" and not form.is_valid()) else 200)
