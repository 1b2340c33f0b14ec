"""Campaign discounts in Django admin: a careful form, the link with its QR code, unique codes, the numbers.

Thin: the Oscar objects, codes and numbers come from the campaign modules (offers, lifecycle, batches, numbers)."""

from __future__ import annotations

import itertools

import segno
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from oscar.templatetags.currency_filters import currency

from ...core.admin_numbers import BoundedNumbersMixin
from ...core.csv_export import csv_response
from ...core.outbox import absolute_url
from ...exceptions import HasRedemptions
from ..base import Status
from . import batches, landing, lifecycle, offers
from .forms import CampaignForm
from .models import Campaign, CodeBatch
from .numbers import campaign_numbers


class CodeBatchInline(BoundedNumbersMixin, admin.TabularInline):
    model = CodeBatch
    extra = 0
    can_delete = False
    fields = readonly_fields = ("prefix", "count", "length", "created_at", "download")
    verbose_name_plural = _("Unique codes")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Codes"))
    def download(self, batch):
        url = reverse("admin:journey_campaign_codes_csv", args=[batch.campaign_id, batch.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download CSV"))


@admin.register(Campaign)
class CampaignAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    form = CampaignForm
    inlines = [CodeBatchInline]
    list_display = ("name", "status_display", "discount_display", "channel", "link_display", "starts_at",
                    "ends_at")
    list_filter = ("channel", "phase", "archived", "is_draft")
    search_fields = ("name", "slug", "code")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("categories",)
    autocomplete_fields = ()
    readonly_fields = ("status_note", "share_link", "qr_code", "numbers", "ended_at")
    actions = ["end_now", "archive", "delete_unused"]
    save_on_top = False

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ("name", "slug", "phase", "is_draft", "starts_at", "ends_at")}),
            (_("Discount"), {"fields": ("discount_kind", "discount_value", "min_basket", "product_range",
                                        "categories", "max_total_uses", "max_uses_per_customer", "code")}),
            (_("Where you share it"), {"fields": ("channel", "landing_path", "utm_source", "utm_medium",
                                                  "utm_campaign", "utm_content", "utm_term")}),
            (_("Unique codes"), {"fields": ("generate_count", "code_prefix", "code_length"),
                                 "classes": ("collapse",) if obj is None else ()}),
        ]
        if obj is not None:
            fieldsets.insert(0, (_("Link to share"), {"fields": ("status_note", "share_link", "qr_code")}))
            fieldsets.insert(1, (_("Numbers"), {"fields": ("numbers",)}))
            fieldsets[2][1]["fields"] = (*fieldsets[2][1]["fields"], "archived", "ended_at")
        return fieldsets

    # Columns --------------------------------------------------------------------------------------------------------
    @admin.display(description=_("status"))
    def status_display(self, campaign):
        status = campaign.status
        if campaign.archived:
            return gettext("Archived")
        return Status(status).label

    @admin.display(description=_("discount"))
    def discount_display(self, campaign):
        text = offers.discount_label(campaign)
        if campaign.min_basket:
            text = gettext("%(discount)s over %(minimum)s") % {"discount": text,
                                                               "minimum": currency(campaign.min_basket)}
        return text

    @admin.display(description=_("link"))
    def link_display(self, campaign):
        return format_html("<code>{}</code>", campaign.get_absolute_url())

    # The change page ------------------------------------------------------------------------------------------------
    @staticmethod
    def _share_url(campaign, base=""):
        """The link with the shop's SITE_URL, else with the address the admin is served from."""
        if absolute_url(""):
            base = ""
        return landing.share_url(campaign, base=base or getattr(campaign, "_journey_base", ""))

    @admin.display(description=_("Status"))
    def status_note(self, campaign):
        status = campaign.status
        if campaign.archived:
            note = gettext("Archived: the link lands visitors with a “this promotion has ended” message.")
        elif status == Status.DRAFT:
            note = gettext("Draft: the link does not give the discount yet. Untick “Draft” and save to publish it.")
        elif status == Status.SCHEDULED:
            note = gettext("Scheduled: the discount starts at the start date; until then the link says so.")
        elif status == Status.ENDED:
            note = gettext("Ended: the link lands visitors with a “this promotion has ended” message.")
        elif campaign.offer_id and campaign.offer.status == campaign.offer.CONSUMED:
            note = gettext("Used up: every use allowed in total has been taken.")
        else:
            note = gettext("Live: the link applies the discount now.")
        return format_html('<strong data-journey-status="{}">{}</strong>', status, note)

    @admin.display(description=_("Link for your ad"))
    def share_link(self, campaign):
        url = self._share_url(campaign)
        code = campaign.voucher.code if campaign.voucher_id else ""
        return format_html(
            '<input type="text" readonly value="{}" size="90" data-journey-share-link '
            'onclick="this.select()" style="font-family:monospace;width:100%;max-width:60em"> '
            '<p class="help">{}</p><p>{} <strong data-journey-code>{}</strong></p>',
            url, gettext("Paste this into the ad. It applies the discount to the visitor's basket and records where "
                         "they came from. Add ?next=/a-page/ to land on a product or category page."),
            gettext("Code shoppers can type at checkout:"), code,
        )

    @admin.display(description=_("QR code"))
    def qr_code(self, campaign):
        url = self._share_url(campaign)
        svg = segno.make(url, error="m").svg_inline(scale=4, title=gettext("QR code of the campaign link"))
        png = reverse("admin:journey_campaign_qr", args=[campaign.pk])
        return format_html('<div data-journey-qr>{}</div><a href="{}" download>{}</a>', mark_safe(svg), png,  # noqa: S308 - segno's own SVG
                           gettext("Download as PNG (for print)"))

    @admin.display(description=_("Numbers"))
    def numbers(self, campaign):
        n = campaign_numbers(campaign)

        def money(value):
            return currency(value) if value is not None else "—"

        rows = [
            (gettext("Landings from the link"), f"{n.landings:,}"),
            (gettext("Baskets holding the discount"), f"{n.baskets:,}"),
            (gettext("Orders"), f"{n.orders:,}"),
            (gettext("Discount given"), money(n.discount)),
            (gettext("Revenue of those orders"), money(n.revenue)),
            (gettext("Average order with the discount"), money(n.average_order)),
            (gettext("Average order without it (same period)"), money(n.average_order_without)),
        ]
        return format_html('<table data-journey-numbers>{}</table>',
                           format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:  # the readonly fields get only the object: give it this site's address
            obj._journey_base = request.build_absolute_uri("/")
        return super().get_form(request, obj, change, **kwargs)

    def get_changeform_initial_data(self, request):
        return {"phase": Campaign._meta.get_field("phase").default, **super().get_changeform_initial_data(request)}

    # Saving ---------------------------------------------------------------------------------------------------------
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        campaign = offers.sync(form.instance)
        form.instance.offer, form.instance.voucher = campaign.offer, campaign.voucher
        count = form.cleaned_data.get("generate_count")
        if count:
            started = timezone.now()
            batch = batches.generate_codes(campaign, count, prefix=form.cleaned_data.get("code_prefix", ""),
                                            length=form.cleaned_data.get("code_length") or 8)
            seconds = (timezone.now() - started).total_seconds()
            url = reverse("admin:journey_campaign_codes_csv", args=[campaign.pk, batch.pk])
            self.message_user(request, format_html(
                "{} <a href=\"{}\">{}</a>",
                ngettext("%(count)s unique code generated in %(seconds).1f s.",
                         "%(count)s unique codes generated in %(seconds).1f s.", count)
                % {"count": f"{count:,}", "seconds": seconds}, url, gettext("Download CSV")), messages.SUCCESS)
        if not offers.range_matches_products(campaign):
            self.message_user(request, gettext("No product is in the chosen range or categories yet: the discount "
                                               "will not apply to anything until there is."), messages.WARNING)

    def response_add(self, request, obj, post_url_continue=None):
        if "_addanother" not in request.POST and "_popup" not in request.POST:
            request.POST = request.POST.copy()
            request.POST["_continue"] = "1"  # show the new campaign's link and QR code straight away
        return super().response_add(request, obj, post_url_continue)

    # Deleting: refused once used -----------------------------------------------------------------------------------
    def delete_view(self, request, object_id, extra_context=None):
        campaign = self.get_object(request, unquote(object_id))
        if campaign is not None and lifecycle.redemptions(campaign):
            self.message_user(request, gettext("“%(name)s” has been used on orders, so it cannot be deleted: end "
                                               "and archive it instead (its orders keep their discount).")
                              % {"name": campaign.name}, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:journey_campaign_change", args=[campaign.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        lifecycle.delete_campaign(obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=_("End the selected campaigns now"), permissions=["change"])
    def end_now(self, request, queryset):
        for campaign in queryset:
            lifecycle.end_campaign(campaign)
        self.message_user(request, ngettext("%(n)d campaign ended: its discount no longer applies.",
                                            "%(n)d campaigns ended: their discounts no longer apply.",
                                            len(queryset)) % {"n": len(queryset)})

    @admin.action(description=_("End and archive the selected campaigns"), permissions=["change"])
    def archive(self, request, queryset):
        for campaign in queryset:
            lifecycle.archive_campaign(campaign)
        self.message_user(request, ngettext("%(n)d campaign archived.", "%(n)d campaigns archived.",
                                            len(queryset)) % {"n": len(queryset)})

    @admin.action(description=_("Delete the selected campaigns (only those never used)"), permissions=["delete"])
    def delete_unused(self, request, queryset):
        deleted, refused = 0, []
        for campaign in queryset:
            try:
                lifecycle.delete_campaign(campaign)
                deleted += 1
            except HasRedemptions:
                refused.append(campaign.name)
        if deleted:
            self.message_user(request, ngettext("%(n)d campaign deleted.", "%(n)d campaigns deleted.", deleted)
                              % {"n": deleted})
        if refused:
            self.message_user(request, gettext("Not deleted, because they have been used on orders (archive them "
                                               "instead): %(names)s") % {"names": ", ".join(refused)},
                              messages.ERROR)

    # Extra pages ----------------------------------------------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/qr.png", wrap(self.qr_view), name="journey_campaign_qr"),
            path("<path:object_id>/codes/<int:batch_id>.csv", wrap(self.codes_view),
                 name="journey_campaign_codes_csv"),
            *super().get_urls(),
        ]

    def _campaign(self, request, object_id):
        campaign = self.get_object(request, unquote(object_id))
        if campaign is None:
            raise Http404
        if not self.has_view_or_change_permission(request, campaign):
            raise PermissionDenied
        return campaign

    def qr_view(self, request, object_id):
        campaign = self._campaign(request, object_id)
        response = HttpResponse(content_type="image/png")
        url = self._share_url(campaign, request.build_absolute_uri("/"))
        segno.make(url, error="m").save(response, kind="png", scale=10, border=4)
        response["Content-Disposition"] = f'attachment; filename="qr-{campaign.slug}.png"'
        return response

    def codes_view(self, request, object_id, batch_id):
        campaign = self._campaign(request, object_id)
        batch = CodeBatch.objects.filter(pk=batch_id, campaign=campaign).first()
        if batch is None:
            raise Http404

        header = [gettext("code"), gettext("used")]
        yes, no = gettext("yes"), gettext("no")
        rows = ([code, yes if used else no] for code, used in batches.batch_codes(batch))
        name = slugify(f"{campaign.slug}-{batch.prefix or 'codes'}-{batch.pk}")
        return csv_response(itertools.chain([header], rows), f"{name}.csv", stream=True)

