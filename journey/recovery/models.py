"""Abandoned-basket recovery: journey's own activity row per Oscar basket, and the mail sequence store owners edit."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..core.outbox.channels import CHOICES as CHANNEL_CHOICES
from ..core.outbox.channels import check_channel
from ..core.outbox.channels.onsite import basket_address, user_address
from ..exceptions import UnknownChannel


class BasketActivity(models.Model):
    """What journey knows about one Oscar basket (Oscar's Basket has no "last changed" time)."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Being filled")
        IN_SEQUENCE = "in_sequence", _("Recovery mails running")
        STOPPED = "stopped", _("Not chased")
        ORDERED = "ordered", _("Ordered")
        RECOVERED = "recovered", _("Recovered")

    class Source(models.TextChoices):
        ACCOUNT = "account", _("Signed-in customer")
        CHECKOUT = "checkout", _("Guest checkout")
        BASKET_FORM = "basket_form", _("“Email me my basket” form")

    basket = models.OneToOneField("basket.Basket", on_delete=models.CASCADE, related_name="journey_activity")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    email = models.EmailField(_("email"), blank=True)
    email_source = models.CharField(_("email from"), max_length=16, choices=Source.choices, blank=True)
    email_captured_at = models.DateTimeField(_("email captured at"), null=True, blank=True)
    consent = models.BooleanField(_("explicit consent"), default=False)
    consent_text = models.TextField(_("consent wording shown"), blank=True)
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=12, blank=True)

    last_activity_at = models.DateTimeField(_("last activity"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.ACTIVE)
    # Increases when the basket changes after a sequence started: the clock restarts with a new cycle.
    cycle = models.PositiveIntegerField(_("cycle"), default=0)
    sequence_anchor_at = models.DateTimeField(_("sequence started from activity at"), null=True, blank=True)
    sequence_started_at = models.DateTimeField(_("sequence started at"), null=True, blank=True)
    stop_reason = models.CharField(_("why not chased"), max_length=200, blank=True)
    first_clicked_at = models.DateTimeField(_("first click"), null=True, blank=True)

    order_number = models.CharField(_("order"), max_length=128, blank=True)
    ordered_at = models.DateTimeField(_("ordered at"), null=True, blank=True)
    recovered_revenue = models.DecimalField(_("recovered revenue"), max_digits=12, decimal_places=2, null=True,
                                            blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("basket activity")
        verbose_name_plural = _("basket activity")
        indexes = [
            # The scan: state = 'active' AND last_activity_at <= cutoff, oldest first.
            models.Index(fields=["state", "last_activity_at"], name="journey_activity_scan"),
            models.Index(fields=["email", "sequence_started_at"], name="journey_activity_cooldown"),
            # The report: sequences started, baskets not chased and baskets recovered in a period.
            models.Index(fields=["sequence_started_at"], name="journey_activity_started"),
            models.Index(fields=["state", "updated_at"], name="journey_activity_state_upd"),
            models.Index(fields=["state", "ordered_at"], name="journey_activity_state_ord"),
        ]

    def __str__(self):
        return f"basket {self.basket_id} ({self.get_state_display()})"

    @property
    def subject_key(self):
        return f"recovery:basket:{self.basket_id}:cycle:{self.cycle}"

    @property
    def onsite_address(self):
        """Where an on-site reminder about this basket shows: to its customer when signed in, else to the browser
        holding the basket (or one that restored it from a journey link)."""
        return user_address(self.user_id) if self.user_id else basket_address(self.basket_id)


class RecoveryStep(models.Model):
    """One mail of the recovery sequence (defaults: 1 h, 24 h, 72 h after the last activity)."""

    class Incentive(models.TextChoices):
        NONE = "", _("No incentive")
        PERCENTAGE = "percentage", _("Percentage off")
        FIXED = "fixed", _("Fixed amount off")

    position = models.PositiveSmallIntegerField(_("step"), unique=True, validators=[MinValueValidator(1)])
    delay_minutes = models.PositiveIntegerField(
        _("delay (minutes after the last activity)"), validators=[MinValueValidator(1)]
    )
    is_active = models.BooleanField(_("active"), default=True)
    channel = models.CharField(
        _("channel"), max_length=16, choices=CHANNEL_CHOICES, default="email",
        help_text=_("How this reminder reaches the shopper: by email, or as a message on their next visit to the "
                    "shop."))
    template = models.CharField(
        _("template"), max_length=100, default="journey/mail/recovery",
        help_text=_("Template prefix PREFIX of PREFIX_subject.txt, PREFIX_body.txt and PREFIX_body.html."))
    incentive = models.CharField(_("incentive"), max_length=12, choices=Incentive.choices, blank=True, default="")
    incentive_value = models.DecimalField(_("percentage or amount"), max_digits=10, decimal_places=2, null=True,
                                          blank=True)
    incentive_valid_days = models.PositiveSmallIntegerField(_("voucher valid for (days)"), default=7,
                                                            validators=[MinValueValidator(1)])
    incentive_min_basket = models.DecimalField(_("minimum basket for the voucher"), max_digits=10,
                                               decimal_places=2, default=Decimal("0.00"),
                                               validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        verbose_name = _("recovery mail")
        verbose_name_plural = _("recovery sequence")
        ordering = ["position"]

    def __str__(self):
        hours = self.delay_minutes / 60
        return _("Mail %(n)d, %(hours)s h after the last activity") % {"n": self.position, "hours": f"{hours:g}"}

    def save(self, *args, **kwargs):
        check_channel(self.channel)  # an unknown channel is a configuration error, not a silent email
        super().save(*args, **kwargs)

    @property
    def delay(self):
        return timedelta(minutes=self.delay_minutes)

    def clean(self):
        try:
            check_channel(self.channel)
        except UnknownChannel as exc:
            raise ValidationError({"channel": str(exc)}) from exc
        if self.incentive:
            if self.incentive_value is None or self.incentive_value <= 0:
                raise ValidationError({"incentive_value": _("Enter a discount above zero.")})
            if self.incentive == self.Incentive.PERCENTAGE and self.incentive_value > 100:
                raise ValidationError({"incentive_value": _("A percentage cannot be over 100.")})
        elif self.incentive_value:
            raise ValidationError({"incentive": _("Choose the kind of incentive for this value, or clear it.")})
