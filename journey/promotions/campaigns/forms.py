"""The campaign form of the admin: the campaign's terms, plus an optional batch of unique codes made on save."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ...exceptions import CampaignError
from . import codes
from .models import Campaign

ADMIN_MAX_CODES = 100_000


class CampaignForm(forms.ModelForm):
    """The campaign, plus an optional batch of unique codes to generate on save."""

    generate_count = forms.IntegerField(
        label=_("Generate unique codes"), required=False, min_value=1, max_value=ADMIN_MAX_CODES,
        help_text=_("How many single-use codes to add now (up to 100,000), e.g. for a mailing or printed flyers."),
    )
    code_prefix = forms.CharField(label=_("Code prefix"), required=False, max_length=16,
                                  help_text=_("For example FB-JUNE: codes look like FB-JUNE-K7QM-2XPA."))
    code_length = forms.IntegerField(label=_("Random characters per code"), initial=8,
                                     min_value=codes.MIN_CODE_LENGTH, max_value=codes.MAX_CODE_LENGTH)

    class Meta:
        model = Campaign
        fields = ["name", "slug", "phase", "is_draft", "starts_at", "ends_at", "archived", "discount_kind",
                  "discount_value", "min_basket", "product_range", "categories", "max_total_uses",
                  "max_uses_per_customer", "code", "channel", "landing_path", "utm_source", "utm_medium",
                  "utm_campaign", "utm_content", "utm_term"]

    def clean(self):
        data = super().clean()
        if data.get("product_range") and data.get("categories"):
            self.add_error("categories", _("Choose a product range or categories, not both."))
        count = data.get("generate_count")
        if count:
            try:
                data["code_prefix"] = codes.validate_batch(count, data.get("code_prefix", ""),
                                                           data.get("code_length") or 8)
            except CampaignError as exc:
                self.add_error("generate_count", str(exc))
        return data
