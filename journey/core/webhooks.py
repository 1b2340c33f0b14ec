"""anymail's webhook URLs, with a malformed body answered 400 instead of a server error.

Include it where a shop would include ``anymail.urls`` (same paths, same ``anymail:`` URL names)::

    path("anymail/", include("journey.core.webhooks")),

anymail checks the basic auth (``ANYMAIL["WEBHOOK_SECRET"]``) and signatures before parsing; a body its parser
cannot read (not JSON, missing fields, a tracking event naming neither message nor recipient) raises
``AnymailWebhookValidationFailure`` here — a ``SuspiciousOperation``, so Django answers 400 and the ESP does not
retry it.  Errors after parsing (journey's receivers) still propagate: the ESP then retries later, and applying an
event twice is harmless.
"""

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import tracking
from django.urls import URLPattern

app_name = anymail_urls.app_name

MALFORMED = (ValueError, KeyError, TypeError, AttributeError, IndexError, LookupError)


def strict_view_class(view_class):
    """A subclass of an anymail webhook view whose unreadable payloads are a validation failure (400)."""

    def parse_events(self, request):
        try:
            events = view_class.parse_events(self, request)
        except AnymailWebhookValidationFailure:
            raise
        except MALFORMED as exc:
            raise AnymailWebhookValidationFailure(
                f"Malformed {self.esp_name} webhook payload ({type(exc).__name__})") from exc
        if self.signal is tracking and any(not (e.message_id or e.recipient) for e in events):
            raise AnymailWebhookValidationFailure(f"{self.esp_name} tracking event names no message and no recipient")
        return events

    return type(f"Strict{view_class.__name__}", (view_class,), {"parse_events": parse_events,
                                                                "__module__": __name__})


def _strict(pattern):
    view = pattern.callback
    view_class = getattr(view, "view_class", None)
    if view_class is None or not hasattr(view_class, "parse_events"):
        return pattern
    strict = strict_view_class(view_class).as_view(**(view.view_initkwargs or {}))
    return URLPattern(pattern.pattern, strict, pattern.default_args, pattern.name)  # path() or re_path() as before


urlpatterns = [_strict(p) if isinstance(p, URLPattern) else p for p in anymail_urls.urlpatterns]
