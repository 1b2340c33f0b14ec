"""Quantity promotions: "2+ items 10 % off, 3+ items 15 % off" and "buy 3, pay 2" — as ordinary Oscar site offers.

``QuantityPromotion`` (a :class:`~journey.promotions.base.PromotionBase`) on an Oscar ``Range`` or on categories
(journey then keeps a private range for them), with ``QuantityTier`` rows for tiered discounts.  What Oscar sees is
made by :func:`journey.promotions.quantity.offers.sync_offers`; the "add 1 more" hints come from
:mod:`journey.promotions.quantity.hints`.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ...core.reporting.amounts import percent
from ...phases import Phase, PhaseField
from ..base import PromotionBase


class QuantityPromotion(PromotionBase):
    """A quantity deal on a range or on categories: discount tiers, or buy X pay Y."""

    class Kind(models.TextChoices):
        TIERS = "tiers", _("Quantity tiers (% off from N items)")
        BUY_X_PAY_Y = "buy_x_pay_y", _("Buy X, pay Y (the cheapest free)")

    DEFAULT_PHASES = {Kind.TIERS: Phase.SELL, Kind.BUY_X_PAY_Y: Phase.CONVINCE}

    phase = PhaseField(blank=True, help_text=_("Leave empty for the usual phase of this kind of promotion."))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.TIERS)
    product_range = models.ForeignKey(
        "offer.Range", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("product range"), help_text=_("An Oscar range, or choose categories below."))
    categories = models.ManyToManyField("catalogue.Category", blank=True, related_name="+",
                                        verbose_name=_("categories"))
    buy_quantity = models.PositiveSmallIntegerField(
        _("buy"), null=True, blank=True, validators=[MinValueValidator(2), MaxValueValidator(100)],
        help_text=_("Buy X, pay Y: the number of items in each group (X)."))
    pay_quantity = models.PositiveSmallIntegerField(
        _("pay"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text=_("Buy X, pay Y: the number of items paid for in each group (Y)."))
    priority = models.IntegerField(_("priority"), default=0,
                                   help_text=_("Oscar applies offers with a higher priority first."))
    # What journey made in Oscar: a private range for categories, and every offer it ever created (for numbers).
    own_range = models.ForeignKey("offer.Range", null=True, blank=True, editable=False, on_delete=models.SET_NULL,
                                  related_name="+")
    offer_ids = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        verbose_name = _("quantity promotion")
        verbose_name_plural = _("quantity promotions")
        ordering = ["-created_at"]

    def save(self, *args, **kwargs):
        if not self.phase:
            self.phase = self.DEFAULT_PHASES[self.Kind(self.kind)]
        super().save(*args, **kwargs)

    @property
    def oscar_range(self):
        return self.product_range or self.own_range

    def describe(self) -> str:
        if self.kind == self.Kind.BUY_X_PAY_Y:
            return str(_("Buy %(buy)s, pay %(pay)s") % {"buy": self.buy_quantity, "pay": self.pay_quantity})
        return "; ".join(str(tier) for tier in self.tiers.all())


class QuantityTier(models.Model):
    promotion = models.ForeignKey(QuantityPromotion, on_delete=models.CASCADE, related_name="tiers")
    min_quantity = models.PositiveSmallIntegerField(
        _("from items"), validators=[MinValueValidator(2), MaxValueValidator(1000)])
    percentage = models.DecimalField(
        _("% off"), max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))])
    offer = models.ForeignKey("offer.ConditionalOffer", null=True, blank=True, editable=False,
                              on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["min_quantity"]
        constraints = [models.UniqueConstraint(fields=["promotion", "min_quantity"], name="journey_qtier_once")]

    def __str__(self):
        return str(_("%(count)s+ items: %(percent)s %% off") % {"count": self.min_quantity,
                                                                "percent": percent(self.percentage)})
