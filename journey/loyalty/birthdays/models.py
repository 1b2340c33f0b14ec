"""Birthday rewards: the program's settings (one row, edited in admin) and one row per customer and year."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.template.loader import get_template
from django.utils.translation import gettext_lazy as _

from ..programs import ProgramTerms

DEFAULT_TEMPLATE = "journey/mail/birthday"


class BirthdayProgram(ProgramTerms):
    """The birthday program's terms: when the mail goes out, the voucher it carries, the template.  One row."""

    lead_days = models.PositiveSmallIntegerField(
        _("days before the birthday"), default=0, validators=[MaxValueValidator(60)],
        help_text=_("0 sends the mail on the birthday itself; 7 sends it a week before."))
    template = models.CharField(
        _("mail template"), max_length=200, default=DEFAULT_TEMPLATE,
        help_text=_("Prefix of the three templates PREFIX_subject.txt, PREFIX_body.txt and PREFIX_body.html."))
    # The last birthday date (store time zone) whose customers were handled; the job resumes from the day after.
    processed_through = models.DateField(_("birthdays handled up to"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("birthday program")
        verbose_name_plural = _("birthday program")

    def __str__(self):
        return str(_("Birthday program"))

    def save(self, *args, **kwargs):
        self.pk = 1  # one row
        if not self._state.adding and not kwargs.get("update_fields") and not kwargs.get("force_insert"):
            # The job owns processed_through: an admin form loaded before a run must not set it back.
            kwargs["update_fields"] = [f.name for f in self._meta.concrete_fields
                                       if not f.primary_key and f.name != "processed_through"]
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        from ...core.vouchers import validate_terms
        from ...exceptions import InvalidTerms

        try:
            validate_terms(self.discount_kind, self.discount_value, self.min_basket)
        except InvalidTerms:
            raise ValidationError({"discount_value": _("A percentage must be above 0 and at most 100; an amount "
                                                       "must be above 0.")}) from None
        missing = []
        for suffix in ("_subject.txt", "_body.txt", "_body.html"):
            try:
                get_template(f"{self.template}{suffix}")
            except Exception:  # TemplateDoesNotExist or a syntax error: either way it cannot be used
                missing.append(f"{self.template}{suffix}")
        if missing:
            raise ValidationError({"template": _("These templates cannot be loaded: %(names)s")
                                   % {"names": ", ".join(missing)}})

    @classmethod
    def load(cls) -> "BirthdayProgram":
        program, _created = cls.objects.get_or_create(pk=1)
        return program


class BirthdayReward(models.Model):
    """What the program did for one customer's birthday in one year: rewarded (voucher + mail) or skipped, and why.

    The unique (user, year) constraint is what makes the reward arrive exactly once a year, whoever runs the job."""

    class Outcome(models.TextChoices):
        REWARDED = "rewarded", _("Voucher and mail")
        SKIPPED = "skipped", _("Skipped")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="journey_birthdays",
                             verbose_name=_("customer"))
    year = models.PositiveSmallIntegerField(_("year"))
    birthday = models.DateField(_("celebrated on"), help_text=_("Feb 29 birthdays are celebrated on Feb 28 in "
                                                                "years without a Feb 29."))
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    reason = models.CharField(_("why skipped"), max_length=200, blank=True)
    voucher = models.ForeignKey("journey.PersonalVoucher", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("voucher"))
    created_at = models.DateTimeField(_("handled at"), auto_now_add=True)

    class Meta:
        verbose_name = _("birthday reward")
        verbose_name_plural = _("birthday rewards")
        constraints = [models.UniqueConstraint(fields=["user", "year"], name="journey_birthday_once_a_year")]
        indexes = [models.Index(fields=["created_at"], name="journey_birthday_created")]
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} {self.year}"
