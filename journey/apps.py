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
        from . import checks  # noqa: F401
        from .conf import tool_package_problem, tool_packages
        from .core import receivers

        receivers.connect()
        for package in tool_packages():
            if tool_package_problem(package) is None:  # else the system check journey.E030 names it
                import_string(f"{package}.tool.connect")()
