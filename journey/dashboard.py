"""Oscar dashboard integration: a "Journey" menu entry pointing at the journey map in Django admin.

Add it to your settings (this module imports no model, so settings may import it)::

    from journey.dashboard import journey_dashboard_menu
    OSCAR_DASHBOARD_NAVIGATION = OSCAR_DASHBOARD_NAVIGATION + [journey_dashboard_menu()]
"""

from django.utils.translation import gettext_lazy as _

JOURNEY_MAP_URL_NAME = "admin:journey_journeymap_changelist"
JOBS_URL_NAME = "admin:journey_jobstate_changelist"

# The permission each journey page needs; any other journey URL name needs the journey map's.
URL_PERMISSIONS = {
    JOURNEY_MAP_URL_NAME: "journey.view_journeymap",
    JOBS_URL_NAME: "journey.view_jobstate",
}


def journey_access_fn(user, url_name, url_args=None, url_kwargs=None):
    """Dashboard access check for journey's (non-dashboard) URL names.

    Oscar's default access function only knows dashboard URL names and raises KeyError for anything else.
    """
    if url_name is None:  # a heading
        return True
    permission = URL_PERMISSIONS.get(url_name, "journey.view_journeymap")
    return bool(user.is_active and user.is_staff and user.has_perm(permission))


def journey_dashboard_menu(label=None, icon="fas fa-route"):
    return {
        "label": label or _("Journey"),
        "icon": icon,
        "children": [
            {"label": _("Journey map"), "url_name": JOURNEY_MAP_URL_NAME, "access_fn": journey_access_fn},
            {
                "label": _("Scheduled jobs"),
                "url_name": JOBS_URL_NAME,
                "access_fn": journey_access_fn,
            },
        ],
    }
