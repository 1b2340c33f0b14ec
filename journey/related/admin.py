"""Related products in Django admin: the builds, the live lists per product (with scores and sources), the rules."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from ..core.admin_mixins import ReadOnlyAdminMixin
from ..core.admin_numbers import BoundedNumbersMixin
from .models import RelatedBuild, RelatedProduct, RelatedRule


@admin.register(RelatedBuild)
class RelatedBuildAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "status", "started_at", "duration", "trained_until", "orders", "lines", "products", "rows")
    list_filter = ("status",)
    readonly_fields = [f.name for f in RelatedBuild._meta.fields]
    deletable = True


@admin.register(RelatedProduct)
class RelatedProductAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The live lists: search a product to see its list, in order, with the score and where each entry came from."""

    list_display = ("product", "rank", "related", "score", "evidence", "source")
    list_filter = ("source", "kind")
    search_fields = ("=product__upc", "product__title")
    list_select_related = ("product", "related")
    ordering = ("product_id", "kind", "rank")
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(build__status=RelatedBuild.Status.LIVE)


@admin.register(RelatedRule)
class RelatedRuleAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    list_display = ("action", "product", "related_or_warning", "position", "note")
    list_filter = ("action",)
    raw_id_fields = ("product", "related")
    search_fields = ("product__title", "related__title", "note")

    @admin.display(description=_("product"))
    def related_or_warning(self, rule):
        return rule.related if rule.related_id else _("⚠ deleted product: this rule is ignored")

    def changelist_view(self, request, extra_context=None):
        broken = RelatedRule.objects.filter(related__isnull=True).count()
        if broken:
            messages.warning(request, _("%(n)d rule(s) point at a product that was deleted; they are ignored.")
                             % {"n": broken})
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        messages.info(request, _("The rule takes effect at the next rebuild of the lists (nightly, or run "
                                 "'manage.py journey_rebuild_related')."))
