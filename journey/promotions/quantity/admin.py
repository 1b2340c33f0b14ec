"""Quantity promotions in Django admin (Journey section): a form with inline tiers that validates like a careful
person, saving through :func:`journey.promotions.quantity.offers.sync_offers`, the numbers on the change page, and
deletion refused once a promotion was used in orders (end or archive it instead).  Thin: the logic is in the
quantity modules (validation, offers, numbers)."""

from __future__ import annotations

import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ...core.admin_numbers import BoundedNumbersMixin
from ...core.reporting import currency
from ...exceptions import PromotionInUse
from . import offers, validation
from .models import QuantityPromotion, QuantityTier
from .numbers import promotion_numbers

logger = logging.getLogger(__name__)


class QuantityPromotionForm(forms.ModelForm):
    class Meta:
        model = QuantityPromotion
        fields = ["name", "kind", "phase", "product_range", "categories", "buy_quantity", "pay_quantity",
                  "priority", "is_draft", "starts_at", "ends_at"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        has_range, has_categories = bool(data.get("product_range")), bool(data.get("categories"))
        if has_range == has_categories:
            self.add_error("product_range", _("Choose either an Oscar range or one or more categories."))
        probe = QuantityPromotion(**{k: data.get(k) for k in ("kind", "starts_at", "ends_at", "buy_quantity",
                                                             "pay_quantity")})
        for name, message in validation.promotion_errors(probe).items():
            self.add_error(name, message)
        return data


class TierFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(form.errors for form in self.forms):
            return
        tiers = [(form.cleaned_data["min_quantity"], form.cleaned_data["percentage"]) for form in self.forms
                 if form.cleaned_data and not form.cleaned_data.get("DELETE")
                 and form.cleaned_data.get("min_quantity") is not None]
        errors = validation.tier_errors(self.instance.kind, tiers)
        if errors:
            raise ValidationError(errors)


class QuantityTierInline(BoundedNumbersMixin, admin.TabularInline):
    model = QuantityTier
    formset = TierFormSet
    fields = ("min_quantity", "percentage")
    extra = 2
    min_num = 0


@admin.register(QuantityPromotion)
class QuantityPromotionAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    form = QuantityPromotionForm
    inlines = [QuantityTierInline]
    list_display = ("name", "kind", "phase", "status_display", "deal", "starts_at", "ends_at")
    list_filter = ("kind", "phase", "archived", "is_draft")
    search_fields = ("name",)
    autocomplete_fields = ()
    filter_horizontal = ("categories",)
    readonly_fields = ("status_display", "numbers_display", "ended_at", "archived")
    actions = ["end_now", "archive"]
    fieldsets = (
        (None, {"fields": ("name", "kind", "phase", "status_display")}),
        (_("What it applies to"), {"fields": ("product_range", "categories")}),
        (_("Buy X, pay Y"), {"fields": ("buy_quantity", "pay_quantity"),
                             "description": _("Only for “Buy X, pay Y” promotions; tiered ones use the tiers "
                                              "below.")}),
        (_("When"), {"fields": ("is_draft", "starts_at", "ends_at", "ended_at", "archived", "priority")}),
        (_("Numbers"), {"fields": ("numbers_display",)}),
    )

    @admin.display(description=_("status"))
    def status_display(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        label = obj.status.label
        return f"{label} ({gettext('archived')})" if obj.archived else label

    @admin.display(description=_("deal"))
    def deal(self, obj):
        return obj.describe()

    @admin.display(description=_("numbers (all time)"))
    def numbers_display(self, obj):
        if obj is None or obj.pk is None or not obj.offer_ids:
            return gettext("No orders yet.")
        numbers = promotion_numbers(obj)
        code = currency()

        def money(value):
            return "-" if value is None else f"{value} {code}"

        rows = [
            (gettext("Orders with it"), numbers.orders),
            (gettext("Discount given"), money(numbers.discount)),
            (gettext("Revenue of those orders"), money(numbers.revenue)),
            (gettext("Average order with it"), money(numbers.average_with)),
            (gettext("Average order without it"), money(numbers.average_without)),
        ]
        for tier in obj.tiers.all():
            if tier.offer_id:
                rows.append((gettext("Orders at %(tier)s") % {"tier": tier}, numbers.by_offer.get(tier.offer_id, 0)))
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", rows))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        promotion = form.instance
        try:
            offers.sync_offers(promotion)
        except ValidationError as exc:  # the form checks the same rules; this is a last guard, never a 500
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        try:
            matches = validation.matching_products(promotion.product_range, list(promotion.categories.all()))
        except Exception:  # noqa: BLE001 - a warning must not break the save
            logger.exception("journey: could not count the products of quantity promotion %s", promotion.pk)
            return
        if not matches:
            self.message_user(request, gettext("“%(name)s” is saved, but its range or categories hold no product "
                                               "for sale yet: nobody will see the deal.") % {"name": promotion.name},
                              messages.WARNING)

    def _refuse_delete(self, request, obj):
        self.message_user(request, gettext("“%(name)s” was used in orders and cannot be deleted; end or archive it "
                                           "instead, so its numbers stay.") % {"name": obj.name}, messages.ERROR)

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and offers.has_redemptions(obj):
            self._refuse_delete(request, obj)
            return HttpResponseRedirect(reverse("admin:journey_quantitypromotion_change", args=[obj.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        try:
            offers.delete(obj)
        except PromotionInUse:
            self._refuse_delete(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    @admin.action(description=_("End the selected promotions now"), permissions=["change"])
    def end_now(self, request, queryset):
        for obj in queryset:
            offers.end(obj)
        self.message_user(request, gettext("Ended: their Oscar offers are suspended."))

    @admin.action(description=_("Archive the selected promotions"), permissions=["change"])
    def archive(self, request, queryset):
        for obj in queryset:
            offers.archive(obj)
        self.message_user(request, gettext("Archived."))
