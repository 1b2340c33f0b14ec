"""Browse abandonment in Django admin: the reminder's settings (one page), its preview and a test mail.

The preview renders the reminder through the outbox's own channel backend for real products — the ones the acting
user last looked at in the shop, else the newest public products — with links to those products and nothing
written to the outbox."""

from __future__ import annotations

import logging
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_class, get_model

from ..conf import journey_settings
from ..core import outbox
from ..core.admin_mixins import SingleRowAdminMixin, clean_mail_template_prefix
from ..core.admin_numbers import BoundedNumbersMixin
from ..core.events import Kind
from ..core.models import JourneyEvent, Message
from ..related.api import related_for_product_lists
from .mail import available_products, reminder_context
from .models import BrowseProgram
from .numbers import metrics
from .services import MAIL_KIND, TOOL

logger = logging.getLogger(__name__)
Product = get_model("catalogue", "Product")
Selector = get_class("partner.strategy", "Selector")


def sample_products(user, limit=None):
    """What the acting user last looked at in the shop (public and available), else the newest such products."""
    limit = limit or journey_settings.BROWSE_MAX_PRODUCTS
    strategy = Selector().strategy()
    viewed = []
    if user.pk:
        recent = (JourneyEvent.objects.filter(user_id=user.pk, kind=Kind.PRODUCT_VIEW, product_id__isnull=False)
                  .order_by("-created_at").values_list("product_id", flat=True)[:50])
        viewed = list(dict.fromkeys(recent))
    available = available_products(viewed, strategy) if viewed else {}
    chosen = [available[pk] for pk in viewed if pk in available][:limit]
    if not chosen:
        newest = list(Product.objects.filter(is_public=True, stockrecords__isnull=False)
                      .order_by("-date_created").values_list("pk", flat=True).distinct()[:50])
        available = available_products(newest, strategy)
        chosen = [available[pk] for pk in newest if pk in available][:limit]
    return chosen


def render_sample(program, products, *, to_email="", channel=None):
    message = Message(tool=TOOL, kind=MAIL_KIND, subject_key="sample", step=0, to_email=to_email, address=to_email,
                      channel=channel or program.channel, due_at=timezone.now(), context={"sample": True},
                      marketing=False)
    related = related_for_product_lists({0: [p.pk for p in products]},
                                        journey_settings.BROWSE_RELATED_PRODUCTS).get(0, [])
    context = reminder_context(products, related, lambda p: outbox.absolute_url(p.get_absolute_url()),
                               template=program.template)
    context.update(message=message, unsubscribe_url="#", site_url=outbox.site_url(), sample=True)
    return outbox.render(message, context)


def send_test_mail(program, products, to_email):
    mail = render_sample(program, products, to_email=to_email, channel=outbox.channels.EMAIL)
    email = mail.payload
    email.subject = f"[TEST] {mail.subject}"
    email.tags = ["journey", TOOL, "test"]
    email.metadata = {"journey_tool": TOOL, "journey_test": "1"}
    email.send()
    return email


class BrowseProgramForm(forms.ModelForm):
    class Meta:
        model = BrowseProgram
        fields = ["is_active", "delay_minutes", "min_product_views", "min_category_products", "once_every_days",
                  "channel", "template"]

    def clean_template(self):
        return clean_mail_template_prefix(self.cleaned_data.get("template"))


@admin.register(BrowseProgram)
class BrowseProgramAdmin(SingleRowAdminMixin, BoundedNumbersMixin, admin.ModelAdmin):
    form = BrowseProgramForm
    change_form_template = "journey/admin/browse/program_change_form.html"
    fieldsets = (
        (None, {"fields": ("is_active", "channel")}),
        (_("Who gets it"), {"fields": ("min_product_views", "min_category_products", "delay_minutes",
                                       "once_every_days")}),
        (_("Mail template"), {"fields": ("template",), "classes": ("collapse",)}),
    )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        BrowseProgram.load()
        extra = {"preview_url": reverse("admin:journey_browseprogram_preview")}
        try:
            start, end = _last_days(30)
            extra["numbers"] = metrics(start, end)
        except Exception:  # the numbers must not break the settings page
            logger.exception("journey: browse numbers failed")
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_urls(self):
        view = self.admin_site.admin_view(self.preview_view)
        return [path("preview/", view, name="journey_browseprogram_preview"), *super().get_urls()]

    def preview_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        program = BrowseProgram.load()
        to_email = (getattr(request.user, "email", "") or "").strip()
        products = sample_products(request.user)
        if request.method == "POST":
            if not to_email:
                self.message_user(request, gettext("Your account has no email address: add one to receive test "
                                                   "mails."), messages.ERROR)
            elif not products:
                self.message_user(request, gettext("There is no public, available product to show in a test mail."),
                                  messages.WARNING)
            else:
                try:
                    send_test_mail(program, products, to_email)
                except Exception as exc:
                    logger.exception("journey: browse test mail failed")
                    self.message_user(request, gettext("The test mail could not be sent: %(error)s")
                                      % {"error": exc}, messages.ERROR)
                else:
                    self.message_user(request, gettext("Test mail sent to %(email)s.") % {"email": to_email})
            return HttpResponseRedirect(request.path)
        mail, error = None, ""
        if not products:
            error = gettext("There is no public, available product to show in the preview.")
        else:
            try:
                mail = render_sample(program, products, to_email=to_email)
            except Exception as exc:
                logger.exception("journey: browse preview failed")
                error = gettext("The mail could not be rendered: %(error)s") % {"error": exc}
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Preview: %(name)s") % {"name": program},
            "opts": self.model._meta, "original": program, "program": program, "products": products,
            "mail": mail, "error": error, "has_email": bool(to_email),
        }
        return TemplateResponse(request, "journey/admin/browse/preview.html", context)


def _last_days(days):
    end = timezone.now()
    return end - timedelta(days=days), end
