from django.db import models
from oscar.apps.customer.abstract_models import AbstractUser


class Customer(AbstractUser):
    """An email-login user model with a shop-specific field, as many Oscar shops have."""

    loyalty_number = models.CharField(max_length=20, blank=True)

    class Meta(AbstractUser.Meta):
        app_label = "accounts"
        swappable = "AUTH_USER_MODEL"
