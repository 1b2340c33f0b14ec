from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneyConfig(AppConfig):
    name = "journey"
    label = "journey"
    verbose_name = _("Journey")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Only wiring: system checks (and, as tools land, signal receivers).
        from . import checks  # noqa: F401
