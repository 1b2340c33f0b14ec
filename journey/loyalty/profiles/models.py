"""The customer profile journey keeps beside the host shop's user model (no custom user model needed)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerProfile(models.Model):
    """Birthday, marketing consent and preferred language of one customer (one row per user)."""

    class Consent(models.TextChoices):
        UNKNOWN = "", _("Not asked")
        GRANTED = "granted", _("Granted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="journey_profile",
                                verbose_name=_("customer"))
    birth_month = models.PositiveSmallIntegerField(_("birth month"), null=True, blank=True,
                                                   validators=[MinValueValidator(1), MaxValueValidator(12)])
    birth_day = models.PositiveSmallIntegerField(_("birth day"), null=True, blank=True,
                                                 validators=[MinValueValidator(1), MaxValueValidator(31)])
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    # When the birthday was last entered or changed (the anti-gaming window counts from here).
    birthday_changed_at = models.DateTimeField(_("birthday changed at"), null=True, blank=True)

    marketing_consent = models.CharField(_("marketing consent"), max_length=12, choices=Consent.choices,
                                         blank=True, default="")
    consent_changed_at = models.DateTimeField(_("consent changed at"), null=True, blank=True)
    consent_text = models.TextField(_("wording shown"), blank=True)
    consent_source = models.CharField(
        _("where"), max_length=64, blank=True,
        help_text=_("Where the choice was made: account page, registration, import, admin…"))
    # A code from the shop's LANGUAGES (not choices here: those would bake the host's LANGUAGES into a migration).
    language = models.CharField(_("preferred language"), max_length=12, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer profile")
        verbose_name_plural = _("customer profiles")
        indexes = [models.Index(fields=["birth_month", "birth_day"], name="journey_profile_birthday")]

    def __str__(self):
        return str(self.user)
