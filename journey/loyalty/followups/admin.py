"""The post-purchase and win-back programs in Django admin (one settings page each) and the Retain report of every
Retain program that mails (post-purchase, win-back, birthday).

Thin: the numbers come from ``loyalty.numbers``, the chart layout from ``core.reporting.mail_chart``."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ...core import vouchers
from ...core.admin_mixins import SingleRowAdminMixin
from ...core.admin_numbers import BoundedNumbersMixin
from ...core.registry import registry
from ...core.reporting import PERIODS, currency, requested_period, store_time_zone
from ...core.reporting.mail_chart import build_chart, trim_quiet_start
from ...exceptions import InvalidTerms
from ...phases import Phase
from .. import numbers
from .models import PostPurchaseProgram, WinbackProgram
from .services import POST_PURCHASE, WINBACK

VOUCHER_FIELDS = ("discount_kind", "discount_value", "valid_days", "min_basket")


class ProgramForm(forms.ModelForm):
    """The voucher terms are checked as the voucher service will check them when the first mail goes out."""

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("discount_kind"), cleaned.get("discount_value")
        if kind and value is not None:
            try:
                vouchers.validate_terms(kind, value, cleaned.get("min_basket") or 0)
            except InvalidTerms:
                if kind == vouchers.PERCENTAGE:
                    message = _("A percentage discount must be above 0 and at most 100.")
                else:
                    message = _("A fixed discount must be above 0.")
                self.add_error("discount_value", ValidationError(message, code="invalid_terms"))
        return cleaned


class SingleRowProgramAdmin(SingleRowAdminMixin, BoundedNumbersMixin, admin.ModelAdmin):
    """One settings page per program (see SingleRowAdminMixin)."""

    form = ProgramForm
    change_form_template = "journey/admin/loyalty/program_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self.model.load()  # the one row exists before anyone opens it
        extra = {"report_url": reverse("admin:journey_retain_report") + f"?program={self.program_key}"}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


@admin.register(PostPurchaseProgram)
class PostPurchaseProgramAdmin(SingleRowProgramAdmin):
    program_key = POST_PURCHASE
    fieldsets = (
        (None, {"fields": ("is_active",)}),
        (_("Which orders"), {"fields": ("min_order_total", "first_order_only", "delay_hours")}),
        (_("Voucher for the next order"), {
            "fields": VOUCHER_FIELDS,
            "description": _("A personal, single-use voucher, issued when the mail is sent; up to four products "
                             "that go with the order are shown below it."),
        }),
    )

    def get_urls(self):
        view = self.admin_site.admin_view(self.report_view)
        return [path("report/", view, name="journey_retain_report"), *super().get_urls()]

    def report_view(self, request):
        return retain_report(self.admin_site, request)


@admin.register(WinbackProgram)
class WinbackProgramAdmin(SingleRowProgramAdmin):
    program_key = WINBACK
    fieldsets = (
        (None, {"fields": ("is_active",)}),
        (_("Who"), {"fields": ("after_days", "mails_per_absence", "include_guests")}),
        (_("Voucher"), {"fields": VOUCHER_FIELDS,
                        "description": _("A personal, single-use voucher, issued when the mail is sent.")}),
    )


#: The voucher programs this report measures (its numbers count their vouchers' redemptions).  Other Retain tools
#: that send mail without a voucher (price-drop alerts) report in their own pages and on the journey map.
VOUCHER_PROGRAMS = (POST_PURCHASE, WINBACK, "birthday")


def retain_programs():
    """[(tool key, name)] of the loyalty programs that send a voucher by mail (post-purchase, win-back, birthday)."""
    return [(tool.key, tool.name) for tool in registry.by_phase()[Phase.RETAIN]
            if tool.key in VOUCHER_PROGRAMS and "email" in tool.touchpoints]


def retain_report(admin_site, request):
    """The numbers of one Retain program for a period (``?program=<tool key>&period=30`` or ``&start=&end=``)."""
    if not any(request.user.has_perm(f"journey.view_{name}program") for name in ("postpurchase", "winback",
                                                                                  "birthday")):
        raise PermissionDenied
    programs = retain_programs()
    keys = [key for key, _name in programs]
    program = request.GET.get("program", "")
    if program not in keys:
        program = keys[0] if keys else POST_PURCHASE
    period, start, end = requested_period(request)
    figures = numbers.program_numbers(program, start, end)
    days = numbers.daily_series(program, start, end)
    if len(days) > 92:
        days = trim_quiet_start(days)
    money, tz = currency(), store_time_zone()
    headline = numbers.metrics(figures, full=True)
    context = {
        **admin_site.each_context(request),
        "title": gettext("Retain programs report"),
        "opts": PostPurchaseProgram._meta,
        "programs": programs,
        "program": program,
        "numbers": figures,
        "headline": headline,
        "chart": build_chart(days, currency=money, column_title=gettext(
            "%(when)s: %(sent)d mailed, %(clicked)d clicked, %(recovered)d orders with a voucher "
            "(%(revenue)s %(currency)s)")),
        "periods": [(key, label) for key, (label, _days) in PERIODS.items()],
        "period": period,
        "start_day": start.astimezone(tz).date(),
        "end_day": (end - timedelta(microseconds=1)).astimezone(tz).date(),
        "currency": money,
        "store_time_zone": tz,
    }
    return TemplateResponse(request, "journey/admin/loyalty/retain_report.html", context)
