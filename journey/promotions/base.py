"""What every kind of promotion shares: a name, a journey phase, a schedule and a status."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..phases import PhaseField


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    LIVE = "live", _("Live")
    ENDED = "ended", _("Ended")


class PromotionBase(models.Model):
    """Abstract base of journey's promotions.  Status is derived from ``is_draft``, the dates and ``ended_at``."""

    name = models.CharField(_("name"), max_length=128)
    phase = PhaseField()
    is_draft = models.BooleanField(_("draft"), default=True,
                                   help_text=_("A draft is not offered to anyone until you publish it."))
    starts_at = models.DateTimeField(_("starts"), default=timezone.now)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True, help_text=_("Leave empty to run until ended."))
    ended_at = models.DateTimeField(_("ended by staff at"), null=True, blank=True)
    archived = models.BooleanField(_("archived"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    def status_at(self, now=None) -> Status:
        now = now or timezone.now()
        if self.is_draft:
            return Status.DRAFT
        if self.ended_at or (self.ends_at and self.ends_at <= now):
            return Status.ENDED
        if self.starts_at > now:
            return Status.SCHEDULED
        return Status.LIVE

    @property
    def status(self) -> Status:
        return self.status_at()

    def is_live(self, now=None) -> bool:
        return self.status_at(now) == Status.LIVE
