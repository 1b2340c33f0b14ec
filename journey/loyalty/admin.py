"""Loyalty in Django admin: the customer profiles, the birthday program, post-purchase and win-back."""

from .birthdays import admin as birthdays_admin  # noqa: F401 - each registers its ModelAdmins
from .followups import admin as followups_admin  # noqa: F401
from .profiles import admin as profiles_admin  # noqa: F401
