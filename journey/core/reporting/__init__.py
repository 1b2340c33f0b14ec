"""What every report shares, written once: periods and the store's time zone, percentages, money and counts in the
reader's locale (``amounts``: a percentage label, money rounded to the cent), and the SVG charts (``charts``).
Tools build their numbers on it; the journey map too."""

from .amounts import money, percent
from .charts import format_count, format_money
from .periods import (
    CUSTOM,
    DEFAULT_PERIOD,
    EARLIEST_REPORT_DAY,
    PERIODS,
    currency,
    day_start,
    percentage,
    period_bounds,
    requested_period,
    store_time_zone,
    trim_leading_empty,
)

__all__ = [
    "CUSTOM",
    "DEFAULT_PERIOD",
    "EARLIEST_REPORT_DAY",
    "PERIODS",
    "currency",
    "day_start",
    "format_count",
    "format_money",
    "money",
    "percent",
    "percentage",
    "period_bounds",
    "requested_period",
    "store_time_zone",
    "trim_leading_empty",
]
