"""Randomized holdouts: one experiment period per measured tool, the people decided in it, and their orders.

See docs/measurement.md for the method in plain words."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Experiment(models.Model):
    """One period of a tool's holdout: its share never changes (changing it closes this period and opens the next,
    so the numbers never mix two shares).  ``key`` is the tool's registry key (the ``tool`` of its messages)."""

    key = models.CharField(_("tool"), max_length=32)
    surface = models.CharField(_("where the tool acts"), max_length=16, default="mail")
    holdout_share = models.DecimalField(
        _("holdout share"), max_digits=4, decimal_places=3,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.9"))],
        help_text=_("The share of people who get nothing from this tool (the control group), e.g. 0.10 for 10 %. "
                    "0 turns the holdout off. Changing it starts a new measurement period."),
    )
    # Part of each person's random draw: a new period draws everyone afresh.
    salt = models.CharField(max_length=32)
    window_days = models.PositiveSmallIntegerField(_("conversion window (days)"), default=7)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("holdout period")
        verbose_name_plural = _("holdouts (what each tool really earns)")
        ordering = ["key", "-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=models.Q(ended_at__isnull=True),
                                    name="journey_experiment_one_open_period"),
        ]

    def __str__(self):
        return f"{self.key} {self.started_at:%Y-%m-%d}"

    @property
    def holdout_percent(self) -> Decimal:
        """The share as a percentage (Decimal("20") for 0.200)."""
        return (self.holdout_share * 100).quantize(Decimal("0.1")).normalize()


class Assignment(models.Model):
    """One person's group in one period, decided once (the first time the tool would act on them) and kept.

    ``person`` is a keyed hash (HMAC under a key derived from SECRET_KEY) of the customer, else the normalized
    email, else the visitor id: never the address itself.  The order columns are filled from Oscar's orders placed
    within the period's window after ``decided_at`` (``ExperimentOrder`` keeps each order once)."""

    class Group(models.TextChoices):
        TREATMENT = "t", _("Treatment (gets the tool)")
        CONTROL = "c", _("Control (held out)")

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    person = models.CharField(max_length=40)
    group = models.CharField(_("group"), max_length=1, choices=Group.choices)
    variant = models.CharField(_("variant"), max_length=32, blank=True)
    decided_at = models.DateTimeField(_("decided at"))
    window_ends_at = models.DateTimeField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        verbose_name = _("holdout assignment")
        verbose_name_plural = _("holdout assignments")
        constraints = [models.UniqueConstraint(fields=["experiment", "person"], name="journey_assignment_once")]
        indexes = [models.Index(fields=["person", "decided_at"], name="journey_assignment_person")]

    def __str__(self):
        return f"{self.experiment_id}:{self.person[:8]}:{self.group}"


class ExperimentOrder(models.Model):
    """An Oscar order counted for an assignment (once: recording the same order again changes nothing).
    ``order_id`` is a plain number, not a foreign key: the measurement outlives a deleted order."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="+")
    order_id = models.BigIntegerField()
    placed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "order_id"],
                                               name="journey_experiment_order_once")]

    def __str__(self):
        return f"order {self.order_id} for {self.assignment_id}"


class ErasedTally(models.Model):
    """What erased people contributed to a period's numbers, per group: their assignments are deleted on erasure
    (journey_erase), these sums keep the period's totals unchanged."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+")
    group = models.CharField(max_length=1, choices=Assignment.Group.choices)
    variant = models.CharField(max_length=32, blank=True)
    people = models.PositiveIntegerField(default=0)
    converted = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    revenue_sq = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    discount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "group", "variant"],
                                               name="journey_erased_tally_once")]

    def __str__(self):
        return f"{self.experiment_id}:{self.group}: {self.people} erased"
