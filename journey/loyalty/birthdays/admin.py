"""The birthday program (one row) and the log of birthday rewards in Django admin."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ...core.admin_mixins import ReadOnlyAdminMixin
from ...core.admin_numbers import BoundedNumbersMixin
from ..profiles.models import CustomerProfile
from .models import BirthdayProgram, BirthdayReward


@admin.register(BirthdayProgram)
class BirthdayProgramAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    fieldsets = (
        (None, {"fields": ("is_active", "lead_days")}),
        (_("Voucher"), {"fields": ("discount_kind", "discount_value", "valid_days", "min_basket")}),
        (_("Mail"), {"fields": ("template",)}),
        (_("Status"), {"fields": ("customers_with_birthday", "processed_through")}),
    )
    readonly_fields = ("customers_with_birthday", "processed_through")
    change_form_template = "journey/admin/loyalty/program_change_form.html"  # with a link to the Retain report

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        """One program: the list goes straight to its form."""
        program = BirthdayProgram.load()
        return redirect("admin:journey_birthdayprogram_change", program.pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"report_url": reverse("admin:journey_retain_report") + "?program=birthday"}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @admin.display(description=_("customers with a birthday"))
    def customers_with_birthday(self, program):
        return CustomerProfile.objects.filter(birth_month__isnull=False).count()


@admin.register(BirthdayReward)
class BirthdayRewardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "year", "birthday", "outcome", "reason", "voucher_code", "created_at")
    list_filter = ("outcome", "year", "reason")
    search_fields = ("user__email", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("user", "voucher__voucher")
    deletable = True

    @admin.display(description=_("voucher"))
    def voucher_code(self, reward):
        return reward.voucher.voucher.code if reward.voucher_id and reward.voucher.voucher_id else "—"
