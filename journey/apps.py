from django.apps import AppConfig
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _


class JourneyConfig(AppConfig):
    name = "journey"
    label = "journey"
    verbose_name = _("Journey")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Only wiring: system checks, the core's receivers, then each installed tool package connects itself.
        from anymail.signals import tracking

        from . import checks  # noqa: F401
        from .conf import tool_packages
        from .core import capture, voucher_receivers
        from .core.tracking import on_tracking

        voucher_receivers.connect()
        capture.connect()
        tracking.connect(on_tracking, dispatch_uid="journey.core.tracking")
        for package in tool_packages():
            import_string(f"{package}.tool.connect")()
