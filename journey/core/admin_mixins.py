"""What several of journey's admin pages share."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

#: The files a mail template prefix names (the email channel's templates).
MAIL_TEMPLATE_PARTS = ("_subject.txt", "_body.txt", "_body.html")


def clean_mail_template_prefix(value) -> str:
    """A mail template prefix an owner typed in admin, stripped; a form error naming each file that is missing."""
    prefix = (value or "").strip()
    missing = []
    for part in MAIL_TEMPLATE_PARTS:
        try:
            get_template(prefix + part)
        except TemplateDoesNotExist:
            missing.append(prefix + part)
    if missing:
        raise ValidationError(_("Template not found: %(names)s."), params={"names": ", ".join(missing)},
                              code="missing_template")
    return prefix


class ReadOnlyAdminMixin:
    """Rows staff may look at but not add or change: journey's own records (the message log, the jobs' bookkeeping,
    the built lists…).  Nor delete them, unless the admin sets ``deletable = True`` (then Django's delete permission
    decides, as usual).  Works on a ModelAdmin and on an inline."""

    deletable = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)


class SingleRowAdminMixin:
    """A settings row (the model's ``load()`` gets or creates it): the list goes straight to its page, nothing to
    add or delete, and saving stays on the page with a message."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        row = self.model.load()
        opts = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))

    def response_change(self, request, obj):
        if "_continue" not in request.POST and "_save" in request.POST:
            self.message_user(request, gettext("The settings were saved."))
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)
