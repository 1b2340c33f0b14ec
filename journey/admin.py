"""journey in Django admin: the scheduled jobs, the core's admin and each installed tool package's ``admin``."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .conf import tool_modules
from .core import jobs
from .core.admin_mixins import ReadOnlyAdminMixin
from .core.models import JobState


@admin.register(JobState)
class JobStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("key", "last_success_at", "last_duration", "last_summary", "runs", "failures", "next_run_at")
    readonly_fields = [f.name for f in JobState._meta.fields if f.name != "lease_token"]
    exclude = ("lease_token",)
    actions = ["run_now"]
    deletable = True  # the rows are the jobs' own bookkeeping: nobody adds or edits them

    def has_run_permission(self, request):
        """Running a job changes things (mails, vouchers, lists): the change permission, not the view one."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    # Admin actions are POSTed from the changelist form, with Django's CSRF check.
    @admin.action(description=_("Run the selected jobs now"), permissions=["run"])
    def run_now(self, request, queryset):
        for state in queryset:
            try:
                outcome = jobs.run_job(state.key, force=True)
            except jobs.UnknownJob:
                self.message_user(request, _("%(job)s is no longer a journey job.") % {"job": state.key},
                                  messages.WARNING)
                continue
            if outcome.state == "ran":
                self.message_user(request, _("%(job)s ran: %(summary)s") % {"job": state.key,
                                                                            "summary": outcome.summary})
            elif outcome.state == "busy":
                self.message_user(request, _("%(job)s is running elsewhere right now.") % {"job": state.key},
                                  messages.WARNING)
            else:
                self.message_user(request, _("%(job)s failed: %(error)s") % {"job": state.key,
                                                                             "error": outcome.summary},
                                  messages.ERROR)

from .core import admin as core_admin  # noqa: E402,F401 - the core's admin (outbox, suppressions, vouchers…)

tool_modules("admin")  # each installed tool package registers its own ModelAdmins
