"""Insights: the funnel rollup (a cache of per-day visit counts) and the journey map's qualitative lanes."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..phases import PhaseField


class FunnelScope(models.TextChoices):
    SHOP = "shop", _("Whole shop")
    CATEGORY = "category", _("Category")
    PRODUCT = "product", _("Product")


class FunnelDay(models.Model):
    """Visits of one store day with one combination of funnel steps (``mask``), per scope and dimensions.

    A cache of what :mod:`journey.insights.funnel` computes from the events: the ``insights_rollup`` job fills it
    for days that have ended; the funnel reads it for those days and computes the rest (today) live.  Rows of the
    ``shop`` scope carry the visit's source/medium/campaign/device; rows of a category or product scope do not.
    """

    day = models.DateField()
    scope = models.CharField(max_length=8, choices=FunnelScope.choices)
    scope_id = models.BigIntegerField(default=0)  # category or product id; 0 for the whole shop
    source = models.CharField(max_length=100, blank=True)
    medium = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=100, blank=True)
    device = models.CharField(max_length=8, blank=True)
    mask = models.PositiveSmallIntegerField()  # funnel.STEPS bits reached by the visits
    visits = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("funnel day")
        verbose_name_plural = _("funnel days")
        indexes = [models.Index(fields=["scope", "scope_id", "day"], name="journey_funnelday_scope")]

    def __str__(self):
        return f"{self.day} {self.scope}:{self.scope_id} mask {self.mask}: {self.visits}"


class ToolDay(models.Model):
    """Events of one tool (and kind) on one store day, for the tools' sparklines (filled with the funnel days)."""

    day = models.DateField()
    tool = models.CharField(max_length=32)
    kind = models.CharField(max_length=20)
    events = models.PositiveIntegerField()
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("tool day")
        verbose_name_plural = _("tool days")
        indexes = [models.Index(fields=["day", "tool"], name="journey_toolday_day")]

    def __str__(self):
        return f"{self.day} {self.tool} {self.kind}: {self.events}"


class RollupDay(models.Model):
    """A store day the rollup computed; ``final`` once it was computed after the day ended (plus a grace time)."""

    day = models.DateField(unique=True)
    computed_at = models.DateTimeField()
    final = models.BooleanField(default=False)
    events = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rolled-up day")
        verbose_name_plural = _("rolled-up days")

    def __str__(self):
        return f"{self.day} ({'final' if self.final else 'provisional'})"


class ScopedNote(models.Model):
    """Something on the journey map of the whole shop, of one category or of one product."""

    category = models.ForeignKey("catalogue.Category", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+", verbose_name=_("category"),
                                 help_text=_("Leave category and product empty for the whole shop."))
    product = models.ForeignKey("catalogue.Product", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("product"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True

    def clean(self):
        if self.category_id and self.product_id:
            raise ValidationError(_("Choose a category or a product, not both (or neither, for the whole shop)."))

    @property
    def scope_label(self):
        if self.product_id:
            return _("Product: %(name)s") % {"name": self.product}
        if self.category_id:
            return _("Category: %(name)s") % {"name": self.category}
        return _("Whole shop")


class Persona(ScopedNote):
    """Who the map is about: a typical customer, with a name, a summary and a photo."""

    name = models.CharField(_("name"), max_length=100)
    summary = models.TextField(_("summary"), help_text=_("Who they are, what they want, what worries them."))
    photo = models.ImageField(_("photo"), upload_to="journey/personas/", blank=True)

    class Meta:
        verbose_name = _("persona")
        verbose_name_plural = _("personas")
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class Lane(models.TextChoices):
    """The rows of a classic journey map."""

    DOES = "does", _("What the customer does")
    THINKS = "thinks", _("What the customer thinks and feels")
    SHOP = "shop", _("What the shop does")
    TOUCHPOINTS = "touchpoints", _("Touchpoints")
    BRAKES = "brakes", _("Brakes (pain points)")
    INSIGHTS = "insights", _("Insights")


class LaneNote(ScopedNote):
    """One entry in a lane of one phase of the journey map (editable in admin)."""

    phase = PhaseField()
    lane = models.CharField(_("lane"), max_length=12, choices=Lane.choices)
    text = models.TextField(_("text"))

    class Meta:
        verbose_name = _("journey map note")
        verbose_name_plural = _("journey map notes")
        ordering = ["lane", "phase", "position", "id"]
        indexes = [models.Index(fields=["category", "product", "lane"], name="journey_lanenote_scope")]

    def __str__(self):
        return f"{self.get_phase_display()} · {self.get_lane_display()}: {self.text[:60]}"


class JourneyMap(models.Model):
    """No table: the admin entry for the journey map page (and its ``view_journeymap`` permission)."""

    class Meta:
        managed = False
        verbose_name = _("journey map")
        verbose_name_plural = _("journey map")
        default_permissions = ("view",)

    def __str__(self):
        return str(self._meta.verbose_name)
