"""What several of journey's admin pages share."""


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
