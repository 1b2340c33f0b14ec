"""What price-drop alerts report: alerts sent, opened, clicked, and the orders of the customers who clicked
(``core.reporting.mail_numbers``), for the journey map."""

from django.utils.translation import gettext_lazy as _

from ..conf import journey_settings
from ..core.registry import Metric
from ..core.reporting.mail_numbers import mail_numbers
from .services import TOOL


def price_drop_numbers(start, end):
    return mail_numbers(TOOL, start, end, attribution_days=journey_settings.PRICE_DROP_ATTRIBUTION_DAYS)


def metrics(start, end):
    numbers = price_drop_numbers(start, end)
    return [
        Metric(_("Alerts sent"), numbers.sent),
        Metric(_("Opened"), numbers.opened),
        Metric(_("Clicked"), numbers.clicked),
        Metric(_("Orders after a click"), numbers.orders),
        Metric(_("Revenue after a click"), numbers.revenue, "money"),
    ]
