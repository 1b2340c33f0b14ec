"""The record of each cookie-consent choice: who (visitor / user), what (categories), under which wording, when."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ConsentRecord(models.Model):
    """One choice made in the consent banner (or page).  The newest record of a visitor is his current choice;
    older ones stay as the history a shop may have to show."""

    key = models.UUIDField(_("reference"), default=uuid.uuid4, unique=True, editable=False)  # in the cookie
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    visitor_id = models.CharField(_("visitor"), max_length=64, blank=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+", verbose_name=_("customer"))
    analytics = models.BooleanField(_("analytics"), default=False)
    marketing = models.BooleanField(_("marketing"), default=False)
    version = models.CharField(_("wording version"), max_length=32)
    wording = models.TextField(_("wording shown"))
    language = models.CharField(_("language"), max_length=12, blank=True)
    source = models.CharField(_("where"), max_length=16, blank=True)  # banner, page, api
    ip = models.GenericIPAddressField(_("network (truncated address)"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "created_at"], name="journey_consent_user")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.categories}"

    @property
    def categories(self):
        return ["necessary"] + [c for c in ("analytics", "marketing") if getattr(self, c)]
