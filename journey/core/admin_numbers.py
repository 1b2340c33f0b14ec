"""Bounds for the number boxes of journey's admin forms: an absurd number is a form error, never a server error.

Django bounds a model integer field's form field by the database's range only where the backend declares one
(PostgreSQL does, SQLite does not: 99999999999 in a small-integer field saves there and breaks later), and a
number of days or hours that is valid for the column can still overflow a ``timedelta``.  Every journey admin
(and inline) takes :class:`BoundedNumbersMixin`, which gives each integer field the range Django knows for its
type on any database, and the domain limits below."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations

#: The integer range of each field type (PostgreSQL's, which Django declares for every backend but SQLite).
RANGES = BaseDatabaseOperations.integer_field_ranges
#: Field-name endings with a domain limit: a number of days, hours or minutes that becomes a timedelta or a date.
DOMAIN_LIMITS = (("_days", 3650), ("_hours", 24 * 3650), ("_minutes", 60 * 24 * 3650))


def bound(db_field, formfield):
    """``formfield`` with the range of ``db_field``'s type and its domain limit (if any) as validators."""
    if formfield is None or not isinstance(db_field, models.IntegerField):
        return formfield
    low, high = RANGES.get(db_field.get_internal_type(), (None, None))
    for suffix, limit in DOMAIN_LIMITS:
        if db_field.name.endswith(suffix):
            high = limit if high is None else min(high, limit)
    if high is not None and (getattr(formfield, "max_value", None) is None or formfield.max_value > high):
        formfield.max_value = high
        formfield.validators.append(MaxValueValidator(high))
        formfield.widget.attrs["max"] = high
    if low is not None and (getattr(formfield, "min_value", None) is None or formfield.min_value < low):
        formfield.min_value = low
        formfield.validators.append(MinValueValidator(low))
        formfield.widget.attrs["min"] = low
    return formfield


class BoundedNumbersMixin:
    """For a ModelAdmin or an InlineModelAdmin: bound every integer field of its form (see :func:`bound`)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return bound(db_field, super().formfield_for_dbfield(db_field, request, **kwargs))
