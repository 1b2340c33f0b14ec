"""Report periods in the store's time zone, shared by every tool's numbers and the journey map."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ...conf import journey_settings

PERIODS = {
    "7": (_("Last 7 days"), 7),
    "30": (_("Last 30 days"), 30),
    "90": (_("Last 90 days"), 90),
    "365": (_("Last 12 months"), 365),
    "all": (_("All time"), None),
}
DEFAULT_PERIOD = "30"
CUSTOM = "custom"
# No report reaches before this day ("all time" starts here, custom periods are clipped to it).
EARLIEST_REPORT_DAY = date(2000, 1, 1)


def store_time_zone() -> ZoneInfo:
    """The store's time zone for anything "daily": JOURNEY["STORE_TIME_ZONE"], else TIME_ZONE."""
    return ZoneInfo(journey_settings.STORE_TIME_ZONE or settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """Midnight of a store day, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=store_time_zone())


def period_bounds(period: str, now=None):
    """(period, start, end) of a preset period; unknown keys fall back to the default."""
    now = now or timezone.now()
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    days = PERIODS[period][1]
    if days is None:
        return period, datetime.combine(EARLIEST_REPORT_DAY, time.min, tzinfo=timezone.get_current_timezone()), now
    return period, now - timedelta(days=days), now


def requested_period(request):
    """(period key, start, end) from ?period= or ?start=YYYY-MM-DD&end=YYYY-MM-DD (store time zone, end day
    included).  Bad dates give a message and the default period."""
    start_raw, end_raw = request.GET.get("start", "").strip(), request.GET.get("end", "").strip()
    if start_raw or end_raw:
        tz = store_time_zone()
        today = timezone.localdate(timezone=tz)
        try:
            end_day = date.fromisoformat(end_raw) if end_raw else today
            start_day = date.fromisoformat(start_raw) if start_raw else end_day - timedelta(days=29)
            if end_day < start_day:
                raise ValueError("end before start")
            asked = (start_day, end_day)
            start_day, end_day = max(start_day, EARLIEST_REPORT_DAY), min(end_day, today)
            if end_day < start_day:
                raise ValueError("the period starts after today")
            if (start_day, end_day) != asked:
                messages.info(request, gettext(
                    "This report covers %(first)s to today: showing %(start)s to %(end)s.") % {
                    "first": EARLIEST_REPORT_DAY.isoformat(), "start": start_day.isoformat(),
                    "end": end_day.isoformat()})
            start = datetime.combine(start_day, time.min, tzinfo=tz)
            end = datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=tz)
        except (ValueError, OverflowError):
            messages.warning(request, gettext(
                "“%(start)s” to “%(end)s” is not a period this report understands: enter dates as YYYY-MM-DD, the "
                "start before the end. Showing the default period instead.") % {"start": start_raw, "end": end_raw})
            return period_bounds(DEFAULT_PERIOD)
        return CUSTOM, start, end
    return period_bounds(request.GET.get("period", ""))


def trim_leading_empty(days, has_data, keep=30):
    """Long periods ("all time"): start a chart at the first day ``has_data(day)`` (keeping at least ``keep``)."""
    first = next((i for i, d in enumerate(days) if has_data(d)), len(days))
    return days[min(first, max(0, len(days) - keep)):]


def percentage(part, whole) -> Decimal | None:
    """``part`` as a percentage of ``whole`` with one decimal, or None when ``whole`` is zero."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def currency() -> str:
    """The shop's currency code (OSCAR_DEFAULT_CURRENCY)."""
    return getattr(settings, "OSCAR_DEFAULT_CURRENCY", "")
