"""All of journey's models, so there is one app label (``journey``) and one migration history.

Tool folders keep their models in their own modules; this file imports them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .core.consent_models import ConsentRecord
from .core.models import (
    JourneyEvent,
    LinkToken,
    Message,
    PersonalValueCondition,
    PersonalVoucher,
    Suppression,
    TrackingEvent,
    VoucherRedemption,
)
from .insights.ga4_models import GA4Delivery
from .insights.models import FunnelDay, LaneNote, Persona, RollupDay, ToolDay
from .loyalty.birthday_models import BirthdayProgram, BirthdayReward
from .loyalty.followups_models import PostPurchaseProgram, WinbackProgram
from .loyalty.models import CustomerProfile
from .promotions.campaigns.models import Campaign, CampaignTouch, CodeBatch
from .promotions.quantity.benefits import BuyXPayYBenefit
from .promotions.quantity.models import QuantityPromotion, QuantityTier
from .recovery.models import BasketActivity, RecoveryStep
from .related.models import RelatedBuild, RelatedClick, RelatedProduct, RelatedRule

__all__ = [
    "BasketActivity",
    "BirthdayProgram",
    "BirthdayReward",
    "BuyXPayYBenefit",
    "Campaign",
    "CampaignTouch",
    "CodeBatch",
    "ConsentRecord",
    "CustomerProfile",
    "GA4Delivery",
    "FunnelDay",
    "JobState",
    "JourneyEvent",
    "JourneyMap",
    "LaneNote",
    "LinkToken",
    "Message",
    "Persona",
    "PersonalValueCondition",
    "PersonalVoucher",
    "QuantityPromotion",
    "QuantityTier",
    "PostPurchaseProgram",
    "RecoveryStep",
    "RelatedBuild",
    "RelatedClick",
    "RelatedProduct",
    "RelatedRule",
    "RollupDay",
    "Suppression",
    "ToolDay",
    "TrackingEvent",
    "VoucherRedemption",
    "WinbackProgram",
]


class JobState(models.Model):
    """When a periodic job last ran, and who holds it now (see journey.jobs)."""

    key = models.CharField(_("job"), max_length=64, unique=True)
    next_run_at = models.DateTimeField(_("next run at"))
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, default="")
    last_started_at = models.DateTimeField(_("last started"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("last finished"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_duration = models.FloatField(_("last duration (s)"), null=True, blank=True)
    last_summary = models.CharField(_("last result"), max_length=500, blank=True, default="")
    last_error = models.TextField(_("last error"), blank=True, default="")
    runs = models.PositiveIntegerField(_("successful runs"), default=0)
    failures = models.PositiveIntegerField(_("failed runs"), default=0)

    class Meta:
        verbose_name = _("scheduled job")
        verbose_name_plural = _("scheduled jobs")
        ordering = ["key"]

    def __str__(self):
        return self.key


class JourneyMap(models.Model):
    """No table: the admin entry for the journey map page (and its ``view_journeymap`` permission)."""

    class Meta:
        managed = False
        verbose_name = _("journey map")
        verbose_name_plural = _("journey map")
        default_permissions = ("view",)

    def __str__(self):
        return str(self._meta.verbose_name)
