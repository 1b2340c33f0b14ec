"""System checks: tell a developer what journey needs and is missing, with ids journey.E001…"""

from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from .conf import journey_settings, tool_package_problem, tool_packages
from .core.celery_app import celery_app_configured
from .exceptions import JourneyConfigurationError

REQUIRED_OSCAR_APPS = ("basket", "order", "offer", "voucher", "catalogue", "partner", "customer", "checkout")


@register(Tags.compatibility)
def check_oscar(app_configs=None, **kwargs):
    errors = []
    missing = [label for label in REQUIRED_OSCAR_APPS if label not in {a.label for a in apps.get_app_configs()}]
    if missing:
        errors.append(
            Error(
                f"journey needs these Oscar apps in INSTALLED_APPS: {', '.join(missing)}.",
                hint="Install Oscar as its docs say (oscar.config.Shop and the apps it lists), forked or not.",
                id="journey.E002",
            )
        )
    if not _has_basket_middleware():
        errors.append(
            Error(
                "Oscar's BasketMiddleware is not in MIDDLEWARE.",
                hint="Add 'oscar.apps.basket.middleware.BasketMiddleware' (or your fork of it) after "
                "AuthenticationMiddleware: journey reads request.basket.",
                id="journey.E001",
            )
        )
    return errors


def _has_basket_middleware():
    try:
        from oscar.apps.basket.middleware import BasketMiddleware
    except ImportError:  # pragma: no cover - Oscar not installed at all (E002 says so)
        return False
    for path in settings.MIDDLEWARE:
        try:
            cls = import_string(path)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, BasketMiddleware):
            return True
    return False


@register()
def check_tool_packages(app_configs=None, **kwargs):
    """Each JOURNEY["TOOLS"] entry is a tool package: importable, with tool.register_all and tool.connect.
    JourneyConfig.ready() skips an entry that is not, so this check can name it."""
    hint = ("List dotted paths of tool packages, e.g. \"journey.loyalty\" or your own \"shop.points\", each with a "
            "tool.py defining register_all(registry) and connect() (docs/settings.md, TOOLS).")
    try:
        packages = tool_packages()
    except JourneyConfigurationError as exc:
        return [Error(str(exc), hint=hint, id="journey.E030")]
    return [Error(f"JOURNEY['TOOLS'] names {package!r}, which {problem}.", hint=hint, obj=package, id="journey.E030")
            for package in packages if (problem := tool_package_problem(package))]


@register()
def check_settings(app_configs=None, **kwargs):
    messages = []
    unknown = journey_settings.unknown_keys()
    if unknown:
        messages.append(
            Warning(
                f"Unknown key(s) in settings.JOURNEY: {', '.join(unknown)}.",
                hint="See docs/settings.md for the keys journey reads; a typo here is silently ignored otherwise.",
                id="journey.W006",
            )
        )
    site_url = journey_settings.SITE_URL
    if not site_url:
        messages.append(
            Warning(
                "JOURNEY['SITE_URL'] is not set: links in journey's mails cannot be absolute.",
                hint="Set it to the public base URL of the shop, e.g. JOURNEY = {'SITE_URL': 'https://shop.example.com'}.",
                id="journey.W004",
            )
        )
    else:
        parts = urlsplit(str(site_url))
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            messages.append(
                Error(
                    f"JOURNEY['SITE_URL'] must be an absolute http(s) URL with no path; got {site_url!r}.",
                    hint="For example 'https://shop.example.com'.",
                    id="journey.E005",
                )
            )
    return messages


@register()
def check_celery(app_configs=None, **kwargs):
    if celery_app_configured():
        return []
    return [
        Warning(
            "No Celery app is configured: journey's periodic jobs and mails only run from "
            "'manage.py journey_tick'.",
            hint="Create a Celery app (proj/celery.py, imported in proj/__init__.py) and merge "
            "journey.celery.beat_schedule() into CELERY_BEAT_SCHEDULE, or run journey_tick from cron every minute.",
            id="journey.W003",
        )
    ]


@register(Tags.security, deploy=True)
def check_email_backend(app_configs=None, **kwargs):
    backend = getattr(settings, "EMAIL_BACKEND", "")
    if backend.startswith("django.core.mail.backends.") and not backend.endswith("smtp.EmailBackend"):
        return [
            Warning(
                f"EMAIL_BACKEND is {backend!r}: journey's mails will not reach anyone.",
                hint="Use an anymail ESP backend in production (docs/install.md, 'Mail').",
                id="journey.W007",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_site_url_https(app_configs=None, **kwargs):
    """Journey's mails carry token links (basket restore, unsubscribe): over http anyone on the path reads them."""
    site_url = str(journey_settings.SITE_URL or "")
    if urlsplit(site_url).scheme != "http":
        return []
    return [
        Warning(
            f"JOURNEY['SITE_URL'] is {site_url!r}: the restore and unsubscribe links in journey's mails travel "
            "unencrypted.",
            hint="Serve the shop over HTTPS and set SITE_URL to its https:// address.",
            id="journey.W013",
        )
    ]


@register(Tags.security)
def check_webhook_secret(app_configs=None, **kwargs):
    """anymail's tracking webhooks without basic auth accept anyone's events: forged bounces and complaints would
    suppress addresses and mark mails failed.  A warning in production (not DEBUG) when they are routed."""
    if settings.DEBUG or not tracking_webhooks_routed():
        return []
    secret = (getattr(settings, "ANYMAIL", None) or {}).get("WEBHOOK_SECRET")
    if secret:
        return []
    return [
        Warning(
            "anymail's tracking webhooks are routed but ANYMAIL['WEBHOOK_SECRET'] is not set: anyone can post "
            "forged bounces and complaints.",
            hint="Set ANYMAIL = {'WEBHOOK_SECRET': 'user:long-random-password'} (from the environment) and give the "
            "same credentials to your ESP's webhook URL (docs/mail.md).",
            id="journey.W012",
        )
    ]


def tracking_webhooks_routed():
    """Whether the project's URLconf serves any of anymail's tracking webhook URLs."""
    from anymail import urls as anymail_urls
    from django.urls import NoReverseMatch, reverse

    names = [p.name for p in anymail_urls.urlpatterns if p.name and "tracking" in p.name]
    for name in names:
        try:
            reverse(f"{anymail_urls.app_name}:{name}")
        except NoReverseMatch:
            continue
        return True
    return False


JOURNEY_MIDDLEWARE = "journey.core.middleware.JourneyMiddleware"


@register()
def check_journey_middleware(app_configs=None, **kwargs):
    """Events and the consent banner need JourneyMiddleware (visitor id, buffered writes, landings)."""
    if not (journey_settings.EVENTS_ENABLED or journey_settings.CONSENT_BANNER):
        return []
    paths = list(settings.MIDDLEWARE)
    found = [i for i, path in enumerate(paths) if path == JOURNEY_MIDDLEWARE or _is_subclass(path, JOURNEY_MIDDLEWARE)]
    if not found:
        return [
            Warning(
                "journey's event capture or consent banner is on but JourneyMiddleware is not in MIDDLEWARE: "
                "every event costs its own INSERT, no landing is recorded and the visitor cookie is never set.",
                hint=f"Add '{JOURNEY_MIDDLEWARE}' after Oscar's BasketMiddleware, or set "
                "JOURNEY['EVENTS_ENABLED'] = False and JOURNEY['CONSENT_BANNER'] = False.",
                id="journey.W010",
            )
        ]
    auth = [i for i, path in enumerate(paths) if path.endswith("AuthenticationMiddleware")]
    if auth and found[0] < auth[0]:
        return [
            Warning(
                "JourneyMiddleware comes before AuthenticationMiddleware: events cannot carry the signed-in user.",
                hint="Move it after AuthenticationMiddleware (and after Oscar's BasketMiddleware).",
                id="journey.W011",
            )
        ]
    return []


def _is_subclass(path, base):
    try:
        cls, base_cls = import_string(path), import_string(base)
    except ImportError:
        return False
    return isinstance(cls, type) and issubclass(cls, base_cls)


CODE_FORM_MIDDLEWARE = "journey.promotions.middleware.CodeFormMiddleware"


@register(Tags.security)
def check_code_form(app_configs=None, **kwargs):
    """Oscar's basket voucher form is unthrottled and tells unknown codes from other people's: route it."""
    if CODE_FORM_MIDDLEWARE in settings.MIDDLEWARE:
        return []
    return [
        Warning(
            "Oscar's basket voucher form (basket:vouchers-add) is not throttled and tells an unknown code from "
            "someone else's personal code.",
            hint=f"Add '{CODE_FORM_MIDDLEWARE}' to MIDDLEWARE after Oscar's BasketMiddleware: its POSTs then go "
            "through journey's throttled code form (journey:apply-code).",
            id="journey.W021",
        )
    ]
