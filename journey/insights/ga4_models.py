"""One row per order and GA4 Measurement Protocol event (purchase, refund): the guarantee it is sent once."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class GA4Delivery(models.Model):
    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        REFUND = "refund", _("Refund")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    order_id = models.BigIntegerField(_("order id"))
    kind = models.CharField(_("event"), max_length=12, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.PENDING)
    client_id = models.CharField(_("GA client id"), max_length=64)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("GA4 server-side event")
        verbose_name_plural = _("GA4 server-side events")
        constraints = [models.UniqueConstraint(fields=["order_id", "kind"], name="journey_ga4_once_per_order")]
        indexes = [models.Index(fields=["state", "created_at"], name="journey_ga4_state")]

    def __str__(self):
        return f"{self.kind} order {self.order_id} ({self.state})"
