"""What the Retain programs share: the voucher a program gives (Oscar offer terms) and whether it runs."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class ProgramTerms(models.Model):
    """Abstract: the voucher a loyalty program gives (Oscar offer terms) and whether the program runs."""

    class DiscountKind(models.TextChoices):
        PERCENTAGE = "percentage", _("Percentage off")
        FIXED = "fixed", _("Fixed amount off")

    is_active = models.BooleanField(_("active"), default=False)
    discount_kind = models.CharField(_("discount"), max_length=12, choices=DiscountKind.choices,
                                     default=DiscountKind.PERCENTAGE)
    discount_value = models.DecimalField(_("value"), max_digits=10, decimal_places=2, default=Decimal("10"))
    valid_days = models.PositiveSmallIntegerField(_("valid for (days)"), default=30,
                                                  validators=[MinValueValidator(1)])
    min_basket = models.DecimalField(_("minimum basket"), max_digits=10, decimal_places=2, default=Decimal("0"),
                                     validators=[MinValueValidator(Decimal("0"))])
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True
