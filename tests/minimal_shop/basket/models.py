from django.db import models
from oscar.apps.basket.abstract_models import AbstractBasket


class Basket(AbstractBasket):
    """A forked Basket with a shop-specific field, as real Oscar shops have."""

    gift_note = models.CharField(max_length=200, blank=True)


from oscar.apps.basket.models import *  # noqa: E402,F403
