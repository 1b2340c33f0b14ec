"""Loyalty in Django admin: the customer profiles, the birthday program, post-purchase and win-back."""

from . import birthday_admin, followups_admin, profile_admin  # noqa: F401 - each registers its ModelAdmins
