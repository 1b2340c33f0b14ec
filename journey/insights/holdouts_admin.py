"""Holdouts in admin (beside their numbers, above the tools): one row per measured tool and period; the owner
edits the open period's share, which closes
it and starts a new one (the numbers of each period stay apart)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..core.experiments import assign
from ..core.experiments.models import Experiment
from ..core.registry import registry
from ..exceptions import JourneyError
from .incrementality import results


class ShareForm(forms.ModelForm):
    share_percent = forms.DecimalField(
        label=_("Held out (%)"), min_value=Decimal("0"), max_value=Decimal("90"), max_digits=4, decimal_places=1,
        help_text=_("The share of people who get nothing from this tool, at random (the control group). "
                    "0 turns the holdout off. Saving a new value starts a new measurement period."))

    class Meta:
        model = Experiment
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["share_percent"].initial = self.instance.holdout_percent

    def clean_share_percent(self):
        value = self.cleaned_data["share_percent"]
        try:
            return assign.parse_share(value / 100)
        except JourneyError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ShareForm
    list_display = ("tool_name", "share_display", "surface", "window_days", "started_at", "ended_at", "people")
    list_filter = ("key", ("ended_at", admin.EmptyFieldListFilter))
    readonly_fields = ("key", "surface", "window_days", "started_at", "ended_at", "report")

    def get_fields(self, request, obj=None):
        if obj is not None and obj.ended_at is None:
            return ("key", "share_percent", "surface", "window_days", "started_at", "report")
        return ("key", "share_display", "surface", "window_days", "started_at", "ended_at", "report")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "share_display")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.ended_at is not None:
            return False  # a closed period is a record
        return super().has_change_permission(request, obj)

    def changelist_view(self, request, extra_context=None):
        assign.ensure_all()  # every measured tool has its open period, at its default share
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("tool"), ordering="key")
    def tool_name(self, obj):
        try:
            return str(registry.get(obj.key).name)
        except Exception:
            return obj.key

    @admin.display(description=_("held out"))
    def share_display(self, obj):
        return f"{obj.holdout_percent:f} %" if obj.holdout_share else gettext("off")

    @admin.display(description=_("people"))
    def people(self, obj):
        return obj.assignments.count()

    @admin.display(description=_("result"))
    def report(self, obj):
        result = next((r for r in results([obj.key]) if r.experiment.pk == obj.pk), None)
        return result.verdict if result is not None else "—"

    def save_model(self, request, obj, form, change):
        period = assign.set_share(obj.key, form.cleaned_data["share_percent"])
        if period.pk != obj.pk:
            messages.success(request, gettext("A new measurement period started with %(share)s %% held out.")
                             % {"share": f"{period.holdout_percent:f}"})
        obj.pk = period.pk

    def response_change(self, request, obj):
        return HttpResponseRedirect(reverse("admin:journey_experiment_changelist"))

