"""Campaign discounts: a promotion with terms, a shareable link, codes, and the visitors it brought.

A :class:`Campaign` is the store owner's view; saving it (through :mod:`journey.promotions.campaigns.offers`) creates or
updates ordinary Oscar objects — a VOUCHER-type ConditionalOffer with its Condition, Benefit and Range, the voucher
behind the link and the shared code, and an Oscar VoucherSet per batch of unique codes — so Oscar's basket,
checkout, dashboard and reports keep working.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ...phases import Phase, PhaseField
from ..base import PromotionBase

#: Characters of generated codes: A–Z and 2–9 without the look-alikes 0/O and 1/I (Oscar's own alphabet).
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_RE = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
PREFIX_RE = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
code_validator = RegexValidator(
    CODE_RE, _("Use capital letters A–Z, digits and single dashes between them (for example SUMMER-10)."),
    code="invalid_code",
)


def normalise_code(code: str) -> str:
    """Codes are case-insensitive and spaces are ignored: ``" summer-10 "`` → ``"SUMMER-10"``."""
    return "".join((code or "").split()).upper()


class Channel(models.TextChoices):
    FACEBOOK = "facebook", _("Facebook")
    GOOGLE = "google", _("Google")
    INSTAGRAM = "instagram", _("Instagram")
    EMAIL = "email", _("Email")
    INFLUENCER = "influencer", _("Influencer")
    OTHER = "other", _("Other")


#: The UTM parameters a campaign link carries (each a field of the campaign).
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")

#: UTM source and medium a campaign link gets when the owner leaves them empty.
CHANNEL_UTM = {
    Channel.FACEBOOK: ("facebook", "paid_social"),
    Channel.GOOGLE: ("google", "cpc"),
    Channel.INSTAGRAM: ("instagram", "paid_social"),
    Channel.EMAIL: ("newsletter", "email"),
    Channel.INFLUENCER: ("influencer", "referral"),
    Channel.OTHER: ("", ""),
}


class DiscountKind(models.TextChoices):
    PERCENTAGE = "percentage", _("Percentage off")
    FIXED = "fixed", _("Fixed amount off")


class Campaign(PromotionBase):
    """A campaign discount (Attract): a discount shared through a link, a code, or unique codes."""

    phase = PhaseField(default=Phase.ATTRACT)
    slug = models.SlugField(
        _("link name"), max_length=64, unique=True,
        help_text=_("The end of the link /journey/c/…/: letters, digits and dashes."),
    )
    landing_path = models.CharField(
        _("link leads to"), max_length=255, default="/", blank=True,
        help_text=_("A page of this shop, e.g. / or /catalogue/category/tea_2/. A link with ?next= overrides it."),
    )
    # Terms
    discount_kind = models.CharField(_("discount"), max_length=12, choices=DiscountKind.choices,
                                     default=DiscountKind.PERCENTAGE)
    discount_value = models.DecimalField(_("value"), max_digits=10, decimal_places=2,
                                         help_text=_("Percent (e.g. 10) or amount (e.g. 5.00)."))
    min_basket = models.DecimalField(_("minimum basket value"), max_digits=10, decimal_places=2, null=True,
                                     blank=True, help_text=_("Leave empty for no minimum."))
    product_range = models.ForeignKey(
        "offer.Range", verbose_name=_("product range"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text=_("Only these products are discounted (an Oscar range). Empty: everything."),
    )
    categories = models.ManyToManyField(
        "catalogue.Category", verbose_name=_("categories"), blank=True, related_name="+",
        help_text=_("Or: only products in these categories are discounted."),
    )
    max_total_uses = models.PositiveIntegerField(_("uses in total"), null=True, blank=True,
                                                 help_text=_("Orders that may use it. Empty: no limit."))
    max_uses_per_customer = models.PositiveIntegerField(
        _("uses per customer"), null=True, blank=True,
        help_text=_("Counted for signed-in customers (guests cannot be told apart). Empty: no limit."),
    )
    # Where it is shared
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.OTHER)
    utm_source = models.CharField("utm_source", max_length=100, blank=True,
                                  help_text=_("Empty: taken from the channel."))
    utm_medium = models.CharField("utm_medium", max_length=100, blank=True,
                                  help_text=_("Empty: taken from the channel."))
    utm_campaign = models.CharField("utm_campaign", max_length=100, blank=True,
                                    help_text=_("Empty: the link name."))
    utm_content = models.CharField("utm_content", max_length=100, blank=True)
    utm_term = models.CharField("utm_term", max_length=100, blank=True)
    code = models.CharField(
        _("shared code"), max_length=64, blank=True, validators=[code_validator],
        help_text=_("A code shoppers can also type at checkout, e.g. SUMMER10. Empty: one is generated."),
    )
    # The Oscar objects behind it (kept in step by offers.sync)
    offer = models.OneToOneField("offer.ConditionalOffer", null=True, blank=True, editable=False,
                                 on_delete=models.SET_NULL, related_name="journey_campaign")
    voucher = models.OneToOneField("voucher.Voucher", null=True, blank=True, editable=False,
                                   on_delete=models.SET_NULL, related_name="journey_campaign")
    own_range = models.ForeignKey("offer.Range", null=True, blank=True, editable=False,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("campaign discount")
        verbose_name_plural = _("campaign discounts")
        ordering = ["-created_at"]

    def get_absolute_url(self):
        return reverse("journey:campaign-link", kwargs={"slug": self.slug})

    @property
    def utm(self) -> dict:
        """The UTM values of the link (the owner's, else the channel's defaults)."""
        source, medium = CHANNEL_UTM.get(self.channel, ("", ""))
        values = {
            "utm_source": self.utm_source or source,
            "utm_medium": self.utm_medium or medium,
            "utm_campaign": self.utm_campaign or self.slug,
            "utm_content": self.utm_content,
            "utm_term": self.utm_term,
        }
        return {key: value for key, value in values.items() if value}

    def clean(self):
        errors = {}
        value = self.discount_value
        if value is not None:
            if value <= 0:
                errors["discount_value"] = _("Enter a discount above zero.")
            elif self.discount_kind == DiscountKind.PERCENTAGE and value > 100:
                errors["discount_value"] = _("A percentage cannot be more than 100.")
        if self.min_basket is not None and self.min_basket < 0:
            errors["min_basket"] = _("The minimum basket value cannot be negative.")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end must be after the start.")
        if self.code:
            self.code = normalise_code(self.code)
            try:
                code_validator(self.code)
            except ValidationError as exc:
                errors["code"] = exc.messages
            else:
                from oscar.core.loading import get_model

                others = get_model("voucher", "Voucher").objects.filter(code=self.code)
                if self.voucher_id:
                    others = others.exclude(pk=self.voucher_id)
                if others.exists():
                    errors["code"] = _("The code %(code)s is already in use.") % {"code": self.code}
        path = (self.landing_path or "/").strip()
        if not path.startswith("/") or path.startswith("//") or "\\" in path:
            errors["landing_path"] = _("Enter a page of this shop, starting with / (for example /catalogue/).")
        if errors:
            raise ValidationError(errors)


class CodeBatch(models.Model):
    """N unique single-use codes of one campaign (an Oscar VoucherSet whose vouchers use the campaign's offer)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="code_batches",
                                 verbose_name=_("campaign"))
    prefix = models.CharField(_("prefix"), max_length=16, blank=True)
    count = models.PositiveIntegerField(_("number of codes"))
    length = models.PositiveSmallIntegerField(_("random characters"), default=8)
    voucher_set = models.OneToOneField("voucher.VoucherSet", null=True, on_delete=models.SET_NULL,
                                       related_name="journey_batch")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("batch of codes")
        verbose_name_plural = _("batches of codes")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix or '—'} × {self.count}"


class CampaignTouch(models.Model):
    """The first and the last campaign that brought one visitor (the first is never overwritten)."""

    visitor_id = models.CharField(_("visitor"), max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    first_campaign = models.ForeignKey(Campaign, null=True, on_delete=models.SET_NULL, related_name="+",
                                       verbose_name=_("first campaign"))
    first_at = models.DateTimeField(_("first landing"))
    first_utm = models.JSONField(default=dict, blank=True)
    last_campaign = models.ForeignKey(Campaign, null=True, on_delete=models.SET_NULL, related_name="+",
                                      verbose_name=_("last campaign"))
    last_at = models.DateTimeField(_("last landing"))
    last_utm = models.JSONField(default=dict, blank=True)
    landings = models.PositiveIntegerField(_("landings"), default=1)

    class Meta:
        verbose_name = _("campaign touch")
        verbose_name_plural = _("campaign touches")

    def __str__(self):
        return self.visitor_id

