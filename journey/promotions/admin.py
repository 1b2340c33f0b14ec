"""Django admin of the promotions tools: importing this registers both admins."""

from .campaigns import admin as campaigns_admin  # noqa: F401
from .quantity import admin as quantity_admin  # noqa: F401
