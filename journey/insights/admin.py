"""The journey map page (Django admin) and the admin of its qualitative lanes (personas, notes)."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_model

from ..core.admin_mixins import ReadOnlyAdminMixin
from ..core.admin_numbers import BoundedNumbersMixin
from ..core.csv_export import csv_response
from ..core.reporting import CUSTOM, DEFAULT_PERIOD, PERIODS, currency, store_time_zone
from . import holdouts_admin  # noqa: F401  (the holdout shares, beside their numbers)
from .attribution import MODELS
from .funnel import BREAKDOWNS, MODES
from .journey_map import build_journey_map, csv_rows
from .models import JourneyMap, LaneNote, Persona

MAX_CUSTOM_DAYS = 3 * 366
# The days a custom period may cover (the store's orders and events lie in between; dates far outside overflow).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


class MapFilterForm(forms.Form):
    """The map's GET parameters.  Bad values become form errors (the map falls back to its defaults)."""

    period = forms.ChoiceField(label=_("Period"), required=False,
                               choices=[(key, label) for key, (label, _days) in PERIODS.items()])
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=pgettext_lazy("date range", "to"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))
    category = forms.ModelChoiceField(label=_("Category"), required=False, queryset=None,
                                      empty_label=_("All categories"))
    product = forms.CharField(label=_("Product (id or UPC)"), required=False, max_length=64)
    model = forms.ChoiceField(label=_("Attribution"), required=False, choices=list(MODELS.items()))
    by = forms.ChoiceField(label=_("Funnel by"), required=False,
                           choices=[("", _("No breakdown")), *BREAKDOWNS.items()])
    mode = forms.ChoiceField(label=_("Funnel"), required=False,
                             choices=[("closed", _("Closed (every step before)")), ("open", _("Open (each step)"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Category = get_model("catalogue", "Category")
        self.fields["category"].queryset = Category.objects.order_by("path")
        self.fields["category"].label_from_instance = lambda c: "— " * (c.depth - 1) + c.name

    def clean_product(self):
        value = (self.cleaned_data.get("product") or "").strip()
        if not value:
            return None
        Product = get_model("catalogue", "Product")
        product = None
        if value.isdigit():
            product = Product.objects.filter(pk=int(value)).first()
        if product is None:
            product = Product.objects.filter(upc=value).first()
        if product is None:
            raise forms.ValidationError(_("No product with the id or UPC “%(value)s”."), params={"value": value})
        return product.parent if product.parent_id else product

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if data.get("category") and data.get("product"):
            raise forms.ValidationError(_("Choose a category or a product, not both."))
        if (start is None) != (end is None) and not self.has_error("start") and not self.has_error("end"):
            raise forms.ValidationError(_("Give both dates of the period, or choose a preset."))
        if any(day is not None and not FIRST_DAY <= day <= LAST_DAY for day in (start, end)):
            raise forms.ValidationError(_("Choose dates between %(first)s and %(last)s."),
                                        params={"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()})
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The period ends before it starts."))
            if (end - start).days > MAX_CUSTOM_DAYS:
                raise forms.ValidationError(_("Choose a period of at most three years."))
        if data.get("by") and data.get("by") != "category" and (data.get("category") or data.get("product")):
            raise forms.ValidationError(_("The funnel breaks down by source, medium, campaign or device for the "
                                          "whole shop only."))
        return data


def journey_map_view(model_admin, request, extra_context=None):
    """The journey map (HTML, printable HTML with ``print=1``, or CSV with ``format=csv``)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = MapFilterForm(request.GET or None)
    options = {"period": request.GET.get("period", "") or DEFAULT_PERIOD}
    if request.GET.get("format") == "csv" and form.is_bound and not form.is_valid():
        # A CSV cannot show a form: say what is wrong instead of exporting the default map under a wrong name.
        errors = [str(error) for field_errors in form.errors.values() for error in field_errors]
        return HttpResponseBadRequest("\n".join(errors) + "\n", content_type="text/plain; charset=utf-8")
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        options.update(period=data["period"] or DEFAULT_PERIOD, category=data["category"], product=data["product"],
                       model=data["model"] or None, by=data["by"] or None, mode=data["mode"] or MODES[0])
        if data["start"] and data["end"]:
            options.update(start=data["start"], end=data["end"])
    journey_map = build_journey_map(**options)
    money = currency()
    if request.GET.get("format") == "csv":
        name = f"journey-map-{journey_map.first_day.isoformat()}-{journey_map.last_day.isoformat()}.csv"
        return csv_response(csv_rows(journey_map, money), name)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("print", None)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Journey map"),
        "opts": model_admin.model._meta,
        "journey_map": journey_map,
        "form": form if form.is_bound else MapFilterForm(initial={"period": journey_map.period}),
        "periods": [(key, label) for key, (label, _days) in PERIODS.items()],
        "custom": journey_map.period == CUSTOM,
        "currency": money,
        "store_time_zone": store_time_zone(),
        "query": query.urlencode(),
        "print_view": request.GET.get("print") == "1",
        "can_edit_lanes": request.user.has_perm("journey.change_lanenote"),
        "can_add_lanes": request.user.has_perm("journey.add_lanenote"),
        "attribution_label": MODELS[journey_map.attribution.model],
        "category_choices": category_choices(),
        "threshold": journey_map_threshold(),
        **(extra_context or {}),
    }
    return TemplateResponse(request, "journey/admin/journey_map.html", context)


def category_choices():
    """(id, indented name) of every category, for the filter (rendered by hand: Django's Select widget renders one
    template per option, too slow for thousands of categories)."""
    Category = get_model("catalogue", "Category")
    return [(pk, "— " * (depth - 1) + name) for pk, depth, name in
            Category.objects.order_by("path").values_list("pk", "depth", "name")]


def journey_map_threshold():
    from ..conf import journey_settings

    return journey_settings.FUNNEL_BRAKE_DROP_OFF


# The lanes ------------------------------------------------------------------------------------------------------
class ScopeListFilter(admin.SimpleListFilter):
    title = _("scope")
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("shop", _("Whole shop")), ("category", _("A category")), ("product", _("A product"))]

    def queryset(self, request, queryset):
        if self.value() == "shop":
            return queryset.filter(category__isnull=True, product__isnull=True)
        if self.value() == "category":
            return queryset.filter(category__isnull=False)
        if self.value() == "product":
            return queryset.filter(product__isnull=False)
        return queryset


class ScopedAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    # The map's "add" links prefill phase, lane, category, product and text from GET parameters (Django's default).
    raw_id_fields = ("product",)
    list_select_related = ("category", "product")

    @admin.display(description=_("scope"))
    def scope_display(self, obj):
        return obj.scope_label

    def response_post_save_add(self, request, obj):
        return self._back_to_map(request, obj) or super().response_post_save_add(request, obj)

    def response_post_save_change(self, request, obj):
        return self._back_to_map(request, obj) or super().response_post_save_change(request, obj)

    def _back_to_map(self, request, obj):
        """After saving from the map, go back to the map of the note's scope."""
        from django.http import HttpResponseRedirect
        from django.urls import reverse
        from django.utils.http import url_has_allowed_host_and_scheme

        target = request.GET.get("next") or request.POST.get("next")
        if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            return HttpResponseRedirect(target)
        if "_continue" in request.POST or "_addanother" in request.POST:
            return None
        params = ""
        if obj.category_id:
            params = f"?category={obj.category_id}"
        elif obj.product_id:
            params = f"?product={obj.product_id}"
        return HttpResponseRedirect(reverse("admin:journey_journeymap_changelist") + params)


@admin.register(LaneNote)
class LaneNoteAdmin(ScopedAdmin):
    list_display = ("text_display", "phase", "lane", "scope_display", "position", "updated_at")
    list_filter = ("lane", "phase", ScopeListFilter)
    list_editable = ("position",)
    search_fields = ("text",)
    fields = ("phase", "lane", "text", "category", "product", "position")

    @admin.display(description=_("text"))
    def text_display(self, note):
        return note.text[:100]


@admin.register(Persona)
class PersonaAdmin(ScopedAdmin):
    list_display = ("photo_display", "name", "scope_display", "position")
    list_display_links = ("photo_display", "name")
    list_filter = (ScopeListFilter,)
    search_fields = ("name", "summary")
    fields = ("name", "summary", "photo", "category", "product", "position")

    @admin.display(description=_("photo"))
    def photo_display(self, persona):
        if not persona.photo:
            return "—"
        return format_html('<img src="{}" alt="" style="height:2.5rem;width:2.5rem;object-fit:cover;'
                           'border-radius:50%">', persona.photo.url)


@admin.register(JourneyMap)
class JourneyMapAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The journey map page: four phase columns with their tools, health and numbers."""

    def changelist_view(self, request, extra_context=None):
        return journey_map_view(self, request, extra_context)
