"""The settings of the post-purchase and win-back programs: one row each, edited in Django admin."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..programs import ProgramTerms


class SingleRowProgram(ProgramTerms):
    """Abstract: a program's settings live in exactly one row (id 1), created on first use."""

    class Meta:
        abstract = True

    @classmethod
    def load(cls):
        """The program's settings (the row is created with the defaults, inactive, the first time)."""
        program, _created = cls.objects.get_or_create(pk=1)
        return program

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)


class PostPurchaseProgram(SingleRowProgram):
    """A thank-you mail some time after an order, with a single-use voucher for the next order."""

    min_order_total = models.DecimalField(
        _("minimum order value"), max_digits=10, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Orders worth less than this (total including tax) get no mail."))
    first_order_only = models.BooleanField(
        _("first order only"), default=False,
        help_text=_("Only a customer's first order gets the mail; otherwise every order does."))
    delay_hours = models.PositiveIntegerField(
        _("delay (hours)"), default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 90)],
        help_text=_("How long after the order the mail goes out (24 = one day)."))

    class Meta:
        verbose_name = _("post-purchase program")
        verbose_name_plural = _("post-purchase program")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="journey_postpurchase_single_row")]

    def __str__(self):
        return str(_("Post-purchase “next order” voucher"))


class WinbackProgram(SingleRowProgram):
    """One mail with a voucher to customers who have not ordered for a while."""

    after_days = models.PositiveSmallIntegerField(
        _("days without an order"), default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Customers whose last order is older than this get the mail, at most once in this many days."))
    mails_per_absence = models.PositiveSmallIntegerField(
        _("mails per absence"), default=1, validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("How many win-back mails a customer who stays away gets in all (each one the number of days "
                    "above after the previous one). Ordering again starts over."))
    include_guests = models.BooleanField(
        _("include guest customers"), default=True,
        help_text=_("Also mail customers who ordered without an account (by their order's email), when the "
                    "consent policy allows it."))

    class Meta:
        verbose_name = _("win-back program")
        verbose_name_plural = _("win-back program")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="journey_winback_single_row")]

    def __str__(self):
        return str(_("Win-back mail"))
