"""Basket recovery in Django admin: the mail sequence (with a preview and a test mail per step), every tracked basket
with its timeline, and the recovery report.  Thin: the numbers and the timeline come from ``recovery.numbers``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_class, get_model

from ..core import outbox
from ..core.admin_mixins import ReadOnlyAdminMixin, clean_mail_template_prefix
from ..core.admin_numbers import BoundedNumbersMixin
from ..core.models import Message
from ..core.registry import Metric
from ..core.reporting import PERIODS, currency, requested_period, store_time_zone
from ..core.reporting.mail_chart import build_chart, trim_quiet_start
from ..related.api import related_for_basket
from .mail import basket_context
from .models import BasketActivity, RecoveryStep
from .numbers import daily_series, recovery_numbers, timeline
from .services import MAIL_KIND

logger = logging.getLogger(__name__)
Basket = get_model("basket", "Basket")
Line = get_model("basket", "Line")
Selector = get_class("partner.strategy", "Selector")
TEST_TAGS = ["journey", "recovery", "test"]


# Samples: a step's mail rendered for a real basket, with no voucher issued and nothing in the outbox -------------
@dataclass(frozen=True)
class SampleVoucher:
    """Stands in for the personal voucher a real mail carries (none is issued for a preview or a test mail)."""

    code: str
    start_datetime: datetime
    end_datetime: datetime
    name: str = ""

    def __str__(self):
        return self.code


def sample_basket(user):
    """The acting user's own open basket if it has lines, else the most recent open basket with lines."""
    with_lines = Basket.objects.filter(Exists(Line.objects.filter(basket_id=OuterRef("pk"))), status=Basket.OPEN)
    with_lines = with_lines.select_related("owner").order_by("-date_created", "-pk")
    own = with_lines.filter(owner_id=user.pk).first() if user.pk else None
    return own or with_lines.first()


def sample_message(step, *, to_email=""):
    """An unsaved outbox row standing in for the step's real message (never saved: a preview adds no row)."""
    return Message(tool="recovery", kind=MAIL_KIND, subject_key="sample", step=step.position, to_email=to_email,
                   address=to_email, channel=step.channel, due_at=timezone.now(), context={"sample": True},
                   marketing=False)  # no unsubscribe token is issued for a sample: its link is "#"


def sample_context(step, basket, *, to_email="", message=None):
    """The context a real mail of ``step`` gets (see ``recovery.mail.prepare_step_batch``), with sample links."""
    now = timezone.now()
    message = message or sample_message(step, to_email=to_email)
    activity = BasketActivity(basket_id=basket.pk, email=to_email, last_activity_at=now,
                              state=BasketActivity.State.IN_SEQUENCE, cycle=1)
    # A basket read from the database has no strategy (Oscar's middleware gives one only to the request's own
    # basket): the related products and the prices need the one its owner would get.
    strategy = Selector().strategy(user=basket.owner)
    basket.strategy = strategy
    try:
        related = related_for_basket(basket, limit=4)
    except Exception:  # the related-products tool must not break a preview
        logger.exception("journey: related products for a recovery preview failed")
        related = []
    home = outbox.absolute_url(str(getattr(settings, "OSCAR_HOMEPAGE", "/")))
    context = {
        **basket_context(basket, strategy),
        "activity": activity, "step": step, "message": message, "mail_template": step.template,
        "restore_url": home, "action_url": home,
        "unsubscribe_url": "#", "site_url": outbox.site_url(), "shop_name": settings.OSCAR_SHOP_NAME,
        "related_products": related, "sample": True,
        "is_last_step": not RecoveryStep.objects.filter(is_active=True, delay_minutes__gt=step.delay_minutes)
        .exclude(pk=step.pk).exists(),
    }
    if step.incentive:
        context["voucher"] = SampleVoucher("SAMPLE-CODE", now, now + timedelta(days=step.incentive_valid_days),
                                           gettext("Sample voucher"))
        context["incentive"] = step
    return context


def render_sample(step, basket, *, to_email="", channel=None):
    """``step``'s message for ``basket``, rendered by the outbox's channel backend (the one rendering path: what
    the preview shows is what the outbox would send).  Returns an outbox ``channels.Rendered``."""
    message = sample_message(step, to_email=to_email)
    if channel:
        message.channel = channel
    return outbox.render(message, sample_context(step, basket, to_email=to_email, message=message))


def send_test_mail(step, basket, to_email):
    """Render ``step`` as a mail for ``basket`` (whatever its channel) and send it to ``to_email`` now, through the
    outbox's email backend, without an outbox row."""
    mail = render_sample(step, basket, to_email=to_email, channel=outbox.channels.EMAIL)
    email = mail.payload
    email.subject = f"[TEST] {mail.subject}"
    email.tags = list(TEST_TAGS)
    email.metadata = {"journey_tool": "recovery", "journey_test": "1"}
    email.send()
    return email


# The sequence ----------------------------------------------------------------------------------------------------
class RecoveryStepForm(forms.ModelForm):
    """A step, its delay in hours.  The model's own checks (``RecoveryStep.clean``) come back as field errors."""

    delay_hours = forms.DecimalField(
        label=_("Delay (hours after the last activity)"), max_digits=8, decimal_places=2,
        help_text=_("For example 1, 24 or 72; 0.5 is half an hour."),
    )

    class Meta:
        model = RecoveryStep
        fields = ["position", "is_active", "channel", "incentive", "incentive_value", "incentive_valid_days",
                  "incentive_min_basket", "template"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "channel" in self.fields:  # a form posted without it keeps the step's channel (email for a new one)
            self.fields["channel"].required = False
        if self.instance.delay_minutes:
            hours = (Decimal(self.instance.delay_minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            if hours == hours.to_integral():
                hours = hours.quantize(Decimal(1))
            self.initial.setdefault("delay_hours", hours)

    def clean_delay_hours(self):
        hours = self.cleaned_data["delay_hours"]
        if hours <= 0:
            raise ValidationError(_("Enter a delay above zero hours."), code="min_value")
        minutes = int((hours * 60).to_integral_value(rounding=ROUND_HALF_UP))
        if minutes < 1:
            raise ValidationError(_("Enter a delay of at least one minute (0.02 hours)."), code="min_value")
        return hours

    def clean_channel(self):
        return self.cleaned_data.get("channel") or self.instance.channel or outbox.channels.EMAIL

    def clean_template(self):
        return clean_mail_template_prefix(self.cleaned_data.get("template"))

    def clean(self):
        cleaned = super().clean()
        hours = cleaned.get("delay_hours")
        if hours is not None:
            # Before the model's own validation (_post_clean) sees the instance.
            self.instance.delay_minutes = int((hours * 60).to_integral_value(rounding=ROUND_HALF_UP))
        return cleaned


@admin.register(RecoveryStep)
class RecoveryStepAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    form = RecoveryStepForm
    list_display = ("position", "delay_display", "channel", "incentive_display", "is_active", "preview_link")
    list_display_links = ("position", "delay_display")
    ordering = ("position",)
    actions = ["send_test_mail_to_me"]
    change_list_template = "journey/admin/recovery/recoverystep_change_list.html"
    fieldsets = (
        (None, {"fields": ("position", "delay_hours", "channel", "is_active")}),
        (pgettext_lazy("recovery mail", "Incentive"), {
            "fields": ("incentive", "incentive_value", "incentive_valid_days", "incentive_min_basket"),
            "description": _("A personal, single-use voucher issued when the mail is sent. Incentives teach some "
                             "shoppers to wait for a discount: consider one on the last mail only."),
        }),
        (_("Mail template"), {"fields": ("template",), "classes": ("collapse",)}),
    )

    @admin.display(description=_("delay"), ordering="delay_minutes")
    def delay_display(self, step):
        hours = Decimal(step.delay_minutes) / 60
        return gettext("%(hours)s h") % {"hours": f"{hours:.2f}".rstrip("0").rstrip(".")}

    @admin.display(description=_("Delay (hours after the last activity)"))
    def delay_hours(self, step):
        # What staff who may only view the sequence see in place of the form field of the same name.
        return self.delay_display(step)

    @admin.display(description=_("incentive"), ordering="incentive")
    def incentive_display(self, step):
        if not step.incentive:
            return step.get_incentive_display()
        if step.incentive == RecoveryStep.Incentive.PERCENTAGE:
            value = f"{step.incentive_value:g} %"
        else:
            value = f"{step.incentive_value} {currency()}"
        return gettext("%(kind)s: %(value)s, valid %(days)d days") % {
            "kind": step.get_incentive_display(), "value": value, "days": step.incentive_valid_days}

    @admin.display(description=_("preview"))
    def preview_link(self, step):
        url = reverse("admin:journey_recoverystep_preview", args=[step.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Preview"))

    def get_urls(self):
        view = self.admin_site.admin_view(self.preview_view)
        return [path("<path:object_id>/preview/", view, name="journey_recoverystep_preview"), *super().get_urls()]

    # A test mail ---------------------------------------------------------------------------------------------
    def _send_tests(self, request, steps):
        to_email = (getattr(request.user, "email", "") or "").strip()
        if not to_email:
            self.message_user(request, gettext("Your account has no email address: add one to receive test mails."),
                              messages.ERROR)
            return
        basket = sample_basket(request.user)
        if basket is None:
            self.message_user(request, gettext("There is no open basket with products to show in a test mail: put "
                                               "a product in your own basket in the shop, then try again."),
                              messages.WARNING)
            return
        for step in steps:
            try:
                send_test_mail(step, basket, to_email)
            except Exception as exc:
                logger.exception("journey: test mail of recovery step %s failed", step.pk)
                self.message_user(request, gettext("Mail %(n)d could not be sent: %(error)s") % {
                    "n": step.position, "error": exc}, messages.ERROR)
            else:
                self.message_user(request, gettext("Test of mail %(n)d sent to %(email)s (basket %(basket)s).") % {
                    "n": step.position, "email": to_email, "basket": basket.pk})

    @admin.action(description=_("Send a test mail to me"), permissions=["view"])
    def send_test_mail_to_me(self, request, queryset):
        self._send_tests(request, list(queryset.order_by("position")))

    # The preview ---------------------------------------------------------------------------------------------
    def preview_view(self, request, object_id):
        step = self.get_object(request, unquote(object_id))
        if step is None:
            raise Http404(gettext("This recovery mail does not exist."))
        if not self.has_view_permission(request, step):
            raise PermissionDenied
        if request.method == "POST":
            self._send_tests(request, [step])
            return HttpResponseRedirect(request.path)
        basket = sample_basket(request.user)
        mail, error = None, ""
        if basket is None:
            error = gettext("There is no open basket with products to show in the preview: put a product in your "
                            "own basket in the shop, then reload this page.")
        else:
            try:
                mail = render_sample(step, basket, to_email=getattr(request.user, "email", "") or "")
            except Exception as exc:
                logger.exception("journey: preview of recovery step %s failed", step.pk)
                error = gettext("The mail could not be rendered: %(error)s") % {"error": exc}
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Preview: %(step)s") % {"step": step},
            "opts": self.model._meta, "original": step, "step": step, "basket": basket, "mail": mail,
            "error": error, "has_email": bool(getattr(request.user, "email", "")),
        }
        return TemplateResponse(request, "journey/admin/recovery/step_preview.html", context)


# Basket activity -------------------------------------------------------------------------------------------------
@admin.register(BasketActivity)
class BasketActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every basket journey tracks, read-only; each one's page tells its story, and ``report/`` the numbers."""

    list_display = ("basket_display", "email", "state", "last_activity_at", "cycle", "first_clicked_at",
                    "order_display", "recovered_revenue")
    list_filter = ("state", "email_source")
    search_fields = ("email", "order_number")
    ordering = ("-last_activity_at",)
    show_full_result_count = False
    change_list_template = "journey/admin/recovery/basketactivity_change_list.html"
    change_form_template = "journey/admin/recovery/basketactivity_change_form.html"
    fieldsets = (
        (None, {"fields": ("basket", "user", "state", "cycle", "last_activity_at", "created_at", "updated_at")}),
        (_("Email"), {"fields": ("email", "email_source", "email_captured_at", "consent", "consent_text",
                                 "consent_at", "language")}),
        (_("Recovery mails"), {"fields": ("sequence_anchor_at", "sequence_started_at", "stop_reason",
                                          "first_clicked_at")}),
        (_("Order"), {"fields": ("order_number", "ordered_at", "recovered_revenue")}),
    )
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description=_("basket"), ordering="basket_id")
    def basket_display(self, activity):
        return f"#{activity.basket_id}"

    @admin.display(description=_("order"), ordering="order_number")
    def order_display(self, activity):
        if not activity.order_number:
            return "—"
        try:
            url = reverse("dashboard:order-detail", args=[activity.order_number])
        except NoReverseMatch:
            return activity.order_number
        return format_html('<a href="{}">{}</a>', url, activity.order_number)

    def get_urls(self):
        view = self.admin_site.admin_view(self.report_view)
        return [path("report/", view, name="journey_basketactivity_report"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        activity = self.get_object(request, unquote(object_id))
        extra = {"timeline": timeline(activity) if activity else [],
                 "store_time_zone": store_time_zone()}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def report_view(self, request):
        if not request.user.has_perm("journey.view_basketactivity"):
            raise PermissionDenied
        period, start, end = requested_period(request)
        numbers = recovery_numbers(start, end)
        days = daily_series(start, end)
        if len(days) > 92:
            days = trim_quiet_start(days)
        money = currency()
        tz = store_time_zone()
        headline = [
            Metric(_("Abandoned & chased"), numbers.started),
            Metric(_("Not chased"), numbers.not_chased),
            Metric(_("Mailed"), numbers.sent),
            Metric(_("Delivered"), numbers.delivered),
            Metric(_("Opened"), numbers.opened),
            Metric(_("Clicked"), numbers.clicked),
            Metric(_("Recovered"), numbers.recovered),
            Metric(_("Recovery rate"), numbers.recovery_rate, "percent"),
            Metric(_("Recovered revenue"), numbers.recovered_revenue, "money"),
            Metric(_("Voucher cost"), numbers.voucher_cost, "money"),
            Metric(_("Held back by the frequency cap"), numbers.held_back),
            Metric(_("Incentives withheld"), numbers.incentives_withheld),
        ]
        local_start, local_end = start.astimezone(tz), (end - timedelta(microseconds=1)).astimezone(tz)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Basket recovery report"),
            "opts": self.model._meta,
            "numbers": numbers,
            "headline": headline,
            "not_chased_reasons": [(gettext(reason) if reason else gettext("(no reason recorded)"), n)
                                   for reason, n in numbers.not_chased_reasons],
            "chart": build_chart(days, currency=money),
            "periods": [(key, label) for key, (label, _days) in PERIODS.items()],
            "period": period,
            "start_day": local_start.date(),
            "end_day": local_end.date(),
            "currency": money,
            "store_time_zone": tz,
        }
        return TemplateResponse(request, "journey/admin/recovery/report.html", context)
