"""What browse abandonment reports: reminders sent, opened, clicked, and the orders of the shoppers who clicked
(``core.reporting.mail_numbers``), for the journey map and the admin."""

from django.utils.translation import gettext_lazy as _

from ..conf import journey_settings
from ..core.registry import Metric
from ..core.reporting.mail_numbers import mail_numbers
from .services import TOOL


def browse_numbers(start, end):
    return mail_numbers(TOOL, start, end, attribution_days=journey_settings.BROWSE_ATTRIBUTION_DAYS)


def metrics(start, end):
    numbers = browse_numbers(start, end)
    return [
        Metric(_("Reminders sent"), numbers.sent),
        Metric(_("Opened"), numbers.opened),
        Metric(_("Clicked"), numbers.clicked),
        Metric(_("Orders after a click"), numbers.orders),
        Metric(_("Revenue after a click"), numbers.revenue, "money"),
    ]
