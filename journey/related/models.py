"""Related products: store owners' rules, and journey's own top-K lists swapped in atomically by each rebuild."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class ListKind(models.IntegerChoices):
    """The lists journey shows; each serves a journey phase (see journey.related.tool)."""

    BOUGHT_TOGETHER = 1, _("Bought together")  # product page — Convince
    CROSS_SELL = 2, _("Complete your basket")  # basket page — Sell (computed per basket from the same pairs)


class Source(models.IntegerChoices):
    MANUAL = 1, _("Hand-picked in Oscar")
    PINNED = 2, _("Pinned")
    COMPUTED = 3, _("Bought together")
    FALLBACK_CATEGORY = 4, _("Popular in the category")
    FALLBACK_BESTSELLER = 5, _("Shop best seller")
    SIMILAR = 6, _("Similar product")


class RelatedBuild(models.Model):
    """One rebuild of the lists.  Exactly one build is live; pages read only the live build's rows."""

    class Status(models.TextChoices):
        BUILDING = "building", _("Building")
        LIVE = "live", _("Live")
        SUPERSEDED = "superseded", _("Replaced")
        FAILED = "failed", _("Failed")

    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.BUILDING)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    duration = models.FloatField(_("duration (s)"), null=True, blank=True)
    trained_until = models.DateTimeField(_("orders until"), null=True, blank=True)
    orders = models.PositiveIntegerField(_("orders read"), default=0)
    lines = models.PositiveIntegerField(_("order lines read"), default=0)
    products = models.PositiveIntegerField(_("products with a list"), default=0)
    rows = models.PositiveIntegerField(_("list entries"), default=0)
    stats = models.JSONField(_("details"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("related-products build")
        verbose_name_plural = _("related-products builds")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="live"), name="journey_one_live_build")
        ]

    def __str__(self):
        return f"build {self.pk} ({self.status})"


class RelatedProduct(models.Model):
    """One entry of a computed list: ``product``'s related product at ``rank`` for ``kind`` in ``build``."""

    # No database constraints on these keys: a build's hundreds of thousands of rows are written with one COPY and
    # deleted with one statement by the rebuild itself (constraint triggers would cost more than the write).
    build = models.ForeignKey(RelatedBuild, on_delete=models.CASCADE, related_name="entries", db_index=False,
                              db_constraint=False)
    product = models.ForeignKey("catalogue.Product", on_delete=models.CASCADE, related_name="+", db_index=False,
                                db_constraint=False)
    related = models.ForeignKey("catalogue.Product", on_delete=models.CASCADE, related_name="+", db_index=False,
                                db_constraint=False)
    kind = models.PositiveSmallIntegerField(choices=ListKind.choices, default=ListKind.BOUGHT_TOGETHER)
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    evidence = models.PositiveIntegerField(default=0)  # orders with both products (weighted counts rounded)
    source = models.PositiveSmallIntegerField(choices=Source.choices)

    class Meta:
        verbose_name = _("related product")
        verbose_name_plural = _("related products")
        indexes = [models.Index(fields=["build", "product", "kind", "rank"], name="journey_related_lookup")]

    def __str__(self):
        return f"{self.product_id} → {self.related_id} #{self.rank}"


class RelatedRule(models.Model):
    """A store owner's rule: pin a product to another's list, never show two together, or never recommend one."""

    class Action(models.TextChoices):
        PIN = "pin", _("Always show")
        SUPPRESS_PAIR = "suppress_pair", _("Never show with this product")
        SUPPRESS_EVERYWHERE = "suppress", _("Never recommend")

    action = models.CharField(_("rule"), max_length=16, choices=Action.choices)
    product = models.ForeignKey("catalogue.Product", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("on the page of"),
                                help_text=_("Leave empty for “Never recommend”."))
    # SET_NULL: a rule whose product was deleted stays visible in admin, flagged, and is ignored.
    related = models.ForeignKey("catalogue.Product", null=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("product"))
    position = models.PositiveSmallIntegerField(_("position (pins)"), default=1)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("related-products rule")
        verbose_name_plural = _("related-products rules")
        ordering = ["action", "product_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["action", "product", "related"], name="journey_related_rule_once")
        ]

    def __str__(self):
        return f"{self.get_action_display()}: {self.related_id}" + (f" on {self.product_id}" if self.product_id else "")

    def clean(self):
        if self.action == self.Action.SUPPRESS_EVERYWHERE:
            if self.product_id:
                raise ValidationError({"product": _("“Never recommend” applies everywhere: leave this empty.")})
        elif not self.product_id:
            raise ValidationError({"product": _("Choose the product whose page the rule is for.")})
        elif self.product_id == self.related_id:
            raise ValidationError({"related": _("A product cannot be related to itself.")})


class RelatedClick(models.Model):
    """A shopper clicked a related product: which list, which position (for the journey map and lift)."""

    kind = models.PositiveSmallIntegerField(choices=ListKind.choices)
    anchor_id = models.PositiveIntegerField(null=True, blank=True)  # the product page's product (bought together)
    product_id = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField()
    source = models.PositiveSmallIntegerField(choices=Source.choices, null=True, blank=True)
    user_id = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("related-product click")
        verbose_name_plural = _("related-product clicks")

    def __str__(self):
        return f"{self.get_kind_display()} #{self.position}: {self.product_id}"
