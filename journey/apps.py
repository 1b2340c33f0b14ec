from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneyConfig(AppConfig):
    name = "journey"
    label = "journey"
    verbose_name = _("Journey")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Only wiring: system checks and signal receivers.
        from anymail.signals import tracking

        from . import checks  # noqa: F401
        from .core import capture, voucher_receivers
        from .core.tracking import on_tracking
        from .loyalty import followups_receivers
        from .recovery import receivers as recovery_receivers

        recovery_receivers.connect()
        voucher_receivers.connect()
        followups_receivers.connect()
        capture.connect()
        tracking.connect(on_tracking, dispatch_uid="journey.core.tracking")
