"""Price-drop alerts in Django admin: the watched prices, read-only."""

from django.contrib import admin

from ..core.admin_mixins import ReadOnlyAdminMixin
from .models import PriceWatch


@admin.register(PriceWatch)
class PriceWatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "product", "source", "recorded_price", "alerted_price", "alerted_at", "created_at")
    list_filter = ("source",)
    search_fields = ("user__email", "product__title")
    raw_id_fields = ("user", "product", "stockrecord")
    ordering = ("-created_at",)
    show_full_result_count = False
