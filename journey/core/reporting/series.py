"""Per-day numbers for the tools' ``series`` hooks (the journey map's sparklines): one grouped query each."""

from django.db.models import Count
from django.db.models.functions import TruncDate

from .periods import store_time_zone


def per_day(queryset, field_name, value=None) -> dict:
    """{store day: value} of ``queryset`` grouped by the store day of ``field_name``: ``value`` an aggregate
    (default: the number of rows)."""
    qs = queryset.annotate(day=TruncDate(field_name, tzinfo=store_time_zone())).values("day")
    qs = qs.annotate(v=value or Count("pk")).order_by()
    return {row["day"]: row["v"] or 0 for row in qs}
