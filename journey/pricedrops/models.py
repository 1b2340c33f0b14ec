"""Price-drop alerts: the price a customer saw for a product they keep in a basket or a wish list."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PriceWatch(models.Model):
    """A customer keeps ``product`` in an open basket or a wish list: the price they saw then, and the price of their
    last alert about it (the next alert needs a new drop below that one; cleared when the price comes back up)."""

    class Source(models.TextChoices):
        BASKET = "basket", _("Basket")
        WISHLIST = "wishlist", _("Wish list")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalogue.Product", on_delete=models.CASCADE, related_name="+")
    stockrecord = models.ForeignKey("partner.StockRecord", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(_("from"), max_length=8, choices=Source.choices)
    recorded_price = models.DecimalField(_("price seen"), max_digits=12, decimal_places=2)
    alerted_price = models.DecimalField(_("price of the last alert"), max_digits=12, decimal_places=2, null=True,
                                        blank=True)
    alerted_at = models.DateTimeField(_("last alert"), null=True, blank=True)
    created_at = models.DateTimeField(_("watched since"), auto_now_add=True)

    class Meta:
        verbose_name = _("price watch")
        verbose_name_plural = _("price watches")
        constraints = [models.UniqueConstraint(fields=["user", "product"], name="journey_pricewatch_once")]
        indexes = [models.Index(fields=["stockrecord"], name="journey_pricewatch_stock")]

    def __str__(self):
        return f"user {self.user_id}, product {self.product_id} at {self.recorded_price}"
