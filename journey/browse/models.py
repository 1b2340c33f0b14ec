"""Browse abandonment: the program's settings, one row edited in Django admin."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..core.outbox.channels import CHOICES as CHANNEL_CHOICES
from ..core.outbox.channels import check_channel
from ..exceptions import UnknownChannel

DEFAULT_TEMPLATE = "journey/browse/mail"


class BrowseProgram(models.Model):
    """One reminder to a known shopper who looked at products and put nothing in the basket."""

    is_active = models.BooleanField(_("active"), default=False)
    delay_minutes = models.PositiveIntegerField(
        _("delay (minutes after the last product view)"), default=120,
        validators=[MinValueValidator(1), MaxValueValidator(60 * 24 * 30)],
        help_text=_("The shopper must have looked at nothing more and added nothing to the basket for this long."))
    min_product_views = models.PositiveSmallIntegerField(
        _("views of one product"), default=2, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("A shopper who looked at one product this many times gets the reminder."))
    min_category_products = models.PositiveSmallIntegerField(
        _("products of one category"), default=3, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("A shopper who looked at this many different products of one category gets the reminder."))
    once_every_days = models.PositiveSmallIntegerField(
        _("at most once every (days)"), default=7, validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("A shopper gets at most one browse reminder in this many days."))
    channel = models.CharField(
        _("channel"), max_length=16, choices=CHANNEL_CHOICES, default="email",
        help_text=_("How the reminder reaches the shopper: by email, or as a message on their next visit to the "
                    "shop."))
    template = models.CharField(
        _("template"), max_length=100, default=DEFAULT_TEMPLATE,
        help_text=_("Template prefix PREFIX of PREFIX_subject.txt, PREFIX_body.txt and PREFIX_body.html."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("browse reminder")
        verbose_name_plural = _("browse reminder")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="journey_browse_single_row")]

    def __str__(self):
        return str(_("Browse abandonment reminder"))

    def save(self, *args, **kwargs):
        self.pk = 1
        check_channel(self.channel)
        super().save(*args, **kwargs)

    def clean(self):
        try:
            check_channel(self.channel)
        except UnknownChannel as exc:
            raise ValidationError({"channel": str(exc)}) from exc

    @classmethod
    def load(cls):
        """The program's settings (created with the defaults, turned off, the first time)."""
        program, _created = cls.objects.get_or_create(pk=1)
        return program


class BrowseReminder(models.Model):
    """The last browse reminder scheduled for a shopper — an account, or a guest's address (``user_id`` empty): the
    scan's "at most once every N days" reads it (one indexed row per person, rather than searching the outbox)."""

    user_id = models.BigIntegerField(_("user id"), unique=True, null=True, blank=True)
    email = models.EmailField(_("guest email"), blank=True, db_index=True)
    last_scheduled_at = models.DateTimeField(_("last reminder scheduled at"), db_index=True)
    subject_key = models.CharField(_("last reminder"), max_length=128)

    class Meta:
        verbose_name = _("browse reminder sent")
        verbose_name_plural = _("browse reminders sent")

    def __str__(self):
        return f"{self.user_id or self.email}: {self.last_scheduled_at:%Y-%m-%d %H:%M}"
