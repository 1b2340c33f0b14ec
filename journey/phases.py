"""The four phases of the customer journey that every tool and promotion is tagged with."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Phase(models.TextChoices):
    """Attract → Convince → Sell → Retain (Atraer → Convencer → Vender → Fidelizar)."""

    ATTRACT = "attract", _("Attract")
    CONVINCE = "convince", _("Convince")
    SELL = "sell", _("Sell")
    RETAIN = "retain", _("Retain")

    @property
    def description(self):
        return PHASE_DESCRIPTIONS[self]

    @property
    def order(self):
        return list(Phase).index(self)


PHASE_DESCRIPTIONS = {
    Phase.ATTRACT: _("Bring new visitors to the shop: ads, campaign links, search."),
    Phase.CONVINCE: _("Help visitors choose: product pages, related products, reviews, quantity deals."),
    Phase.SELL: _("Turn baskets into orders: cross-sell, checkout, abandoned-basket recovery."),
    Phase.RETAIN: _("Bring customers back: post-purchase, birthday and win-back mails, wish lists."),
}


class PhaseField(models.CharField):
    """A model field holding one :class:`Phase`; promotions and other tagged objects use it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("choices", Phase.choices)
        kwargs.setdefault("verbose_name", _("journey phase"))
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key, default in (("max_length", 16), ("choices", Phase.choices), ("db_index", True)):
            if kwargs.get(key) == default:
                kwargs.pop(key)
        return name, "journey.phases.PhaseField", args, kwargs
