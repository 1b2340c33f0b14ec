from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneyConfig(AppConfig):
    name = "journey"
    label = "journey"
    verbose_name = _("Journey")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Only wiring: system checks, signal receivers and the tools' privacy erasers.
        from anymail.signals import tracking

        from . import checks  # noqa: F401
        from .core import capture, voucher_receivers
        from .core.tracking import on_tracking
        from .loyalty import consent_receivers, followups_receivers
        from .loyalty import privacy as loyalty_privacy
        from .promotions import privacy as promotions_privacy
        from .promotions import receivers as promotions_receivers
        from .recovery import receivers as recovery_receivers

        recovery_receivers.connect()
        voucher_receivers.connect()
        followups_receivers.connect()
        consent_receivers.connect()
        loyalty_privacy.connect()
        promotions_privacy.connect()
        promotions_receivers.connect()
        capture.connect()
        tracking.connect(on_tracking, dispatch_uid="journey.core.tracking")
