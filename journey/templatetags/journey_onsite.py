"""``{% journey_onsite_message %}``: the visitor's on-site message (a dismissible banner), or nothing.

Put it once in the storefront's base template (the demo does, in templates/oscar/base.html).  It needs the
``request`` context processor; it costs no query for most pages (see journey.core.onsite)."""

import logging

from django import template
from django.template.loader import render_to_string
from django.urls import NoReverseMatch
from django.utils.safestring import mark_safe

from ..core import onsite

register = template.Library()
logger = logging.getLogger(__name__)


@register.simple_tag(takes_context=True)
def journey_onsite_message(context):
    request = context.get("request")
    if request is None:
        return ""
    try:
        message = onsite.message_for(request)
        if message is None:
            return ""
        onsite.mark_shown(request, message)
        return render_to_string("journey/onsite/banner.html", {
            "message": message, "body": mark_safe(message.body_html),  # noqa: S308 - rendered by our template
            "next": request.get_full_path(),
        }, request=request)
    except NoReverseMatch:
        logger.warning("journey: the on-site message URLs are not included in journey.urls")
        return ""
