"""The shared parts in Django admin: the message log (read-only, with each mail as sent and its tracking events) and
the suppression list staff can add to."""

from __future__ import annotations

import contextlib
import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..exceptions import JourneyConfigurationError
from . import outbox, suppression
from .admin_mixins import ReadOnlyAdminMixin
from .models import Message, PersonalVoucher, Suppression, TrackingEvent

# href / action attributes in a stored mail: switched off in the admin's copy (they are the customer's own links).
_LINK_ATTRIBUTE = re.compile(r"(<(?:a|area|form)\b[^>]*?\s)(href|action)(\s*=)", re.IGNORECASE)


def without_links(html: str) -> str:
    """``html`` with its links made inert (``href`` → ``data-href``), for showing a sent mail to staff."""
    return _LINK_ATTRIBUTE.sub(r"\1data-\2\3", html or "")


class TrackingEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TrackingEvent
    fields = ("timestamp", "event_type", "recipient", "esp_name", "description", "event_id")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("tracking events from the ESP")

    def has_view_permission(self, request, obj=None):
        # Whoever may read the message log may read its events.
        return request.user.has_perm("journey.view_message") or request.user.has_perm("journey.view_trackingevent")


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The message log: every mail journey scheduled or sent, read-only."""

    list_display = ("to_email", "tool", "kind", "priority", "step", "channel", "state", "due_at", "sent_at",
                    "esp_status", "opened_at", "clicked_at")
    list_filter = ("state", "tool", "channel", "esp_status")
    search_fields = ("to_email", "esp_message_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    inlines = [TrackingEventInline]
    actions = ["cancel_scheduled"]
    change_form_template = "journey/admin/core/message_change_form.html"
    change_list_template = "journey/admin/core/message_change_list.html"
    fieldsets = (
        (None, {"fields": ("to_email", "channel", "address", "tool", "kind", "step", "subject_key", "state", "user",
                           "language", "marketing")}),
        (_("Sending"), {"fields": ("created_at", "due_at", "sent_at", "attempts", "closed_at", "close_reason",
                                   "last_error", "cap_slot_at", "cap_waiting_since")}),
        (_("Tracking"), {"fields": ("esp_name", "esp_message_id", "esp_status", "delivered_at", "opened_at",
                                    "clicked_at", "bounced_at", "complained_at", "unsubscribed_at",
                                    "dismissed_at")}),
        (_("Context"), {"fields": ("context",), "classes": ("collapse",)}),
    )

    @admin.display(description=_("priority"))
    def priority(self, message):
        """The kind's frequency-cap priority (lower goes first); "—" for transactional mail, never capped."""
        return outbox.priority_of(message.kind) if message.marketing else "—"

    def changelist_view(self, request, extra_context=None):
        from .outbox import cap

        try:
            frequency_cap = cap.current_cap()
        except JourneyConfigurationError as exc:
            frequency_cap, cap_error = None, str(exc)
        else:
            cap_error = ""
        extra = {"frequency_cap": frequency_cap, "frequency_cap_error": cap_error,
                 "cap_window_hours": f"{frequency_cap.window.total_seconds() / 3600:g}" if frequency_cap else "",
                 "cap_max_wait_hours": f"{frequency_cap.max_wait.total_seconds() / 3600:g}" if frequency_cap else "",
                 "cap_priorities": cap.priority_table(), "cap_waiting": cap.waiting_for_room()}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def has_cancel_permission(self, request):
        return request.user.has_perm("journey.change_message")

    @admin.action(description=_("Cancel selected scheduled messages"), permissions=["cancel"])
    def cancel_scheduled(self, request, queryset):
        selected = queryset.count()
        reason = gettext("cancelled in admin by %(user)s") % {"user": request.user.get_username()}
        cancelled = outbox.cancel(queryset, reason)
        self.message_user(request, ngettext("%(n)d scheduled message cancelled.",
                                            "%(n)d scheduled messages cancelled.", cancelled) % {"n": cancelled})
        if selected > cancelled:
            skipped = selected - cancelled
            self.message_user(request, ngettext(
                "%(n)d selected message was not scheduled any more and was left as it is.",
                "%(n)d selected messages were not scheduled any more and were left as they are.", skipped,
            ) % {"n": skipped}, messages.WARNING)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        message = self.get_object(request, unquote(object_id))
        extra = {}
        if message is not None:
            extra["safe_html"] = without_links(message.body_html)
            activity_id = (message.context or {}).get("activity_id") if isinstance(message.context, dict) else None
            if message.tool == "recovery" and activity_id:
                with contextlib.suppress(NoReverseMatch):
                    extra["activity_url"] = reverse("admin:journey_basketactivity_change", args=[activity_id])
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


class SuppressionForm(forms.ModelForm):
    class Meta:
        model = Suppression
        fields = ("email", "reason", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "reason" in self.fields and not self.instance.pk:
            self.fields["reason"].initial = Suppression.Reason.MANUAL

    def clean_email(self):
        email = suppression.normalize(self.cleaned_data.get("email"))
        others = Suppression.objects.filter(email=email)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(_("%(email)s is already on the suppression list."), params={"email": email},
                                  code="duplicate")
        return email


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    """Addresses that get no marketing mail.  Adding one by hand also cancels what is scheduled for it."""

    form = SuppressionForm
    list_display = ("email", "reason", "created_at", "note", "message_link")
    list_filter = ("reason",)
    search_fields = ("email", "note")
    ordering = ("-created_at",)
    show_full_result_count = False

    def get_fields(self, request, obj=None):
        return ("email", "reason", "note", "created_at", "message_link") if obj else ("email", "reason", "note")

    def get_readonly_fields(self, request, obj=None):
        return ("email", "created_at", "message_link") if obj else ()

    @admin.display(description=_("caused by message"))
    def message_link(self, entry):
        if not entry.message_id:
            return "—"
        url = reverse("admin:journey_message_change", args=[entry.message_id])
        return format_html('<a href="{}">{}</a>', url, gettext("Message %(id)s") % {"id": entry.message_id})

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # The service, not a bare save: it also cancels the marketing mail still scheduled for the address.
        entry = suppression.suppress(obj.email, obj.reason or Suppression.Reason.MANUAL, note=obj.note)
        obj.pk, obj.created_at = entry.pk, entry.created_at
        obj._state.adding = False
        obj._state.db = entry._state.db


@admin.register(PersonalVoucher)
class PersonalVoucherAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Which customer each personal voucher (e.g. a recovery discount) was issued to: read-only."""

    list_display = ("code", "purpose", "email", "user", "basket_id", "created_at")
    list_filter = ("purpose",)
    search_fields = ("email", "voucher__code")
    list_select_related = ("voucher", "user")
    ordering = ("-created_at",)
    show_full_result_count = False
    fields = ("key", "purpose", "voucher", "email", "user", "basket_id", "created_at")
    readonly_fields = ("created_at",)

    @admin.display(description=_("code"), ordering="voucher__code")
    def code(self, binding):
        return binding.voucher.code if binding.voucher_id else "—"
