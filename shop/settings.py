"""Settings of the journey demo shop: a complete Oscar 4.2 store with journey installed as docs/install.md says.

Everything that differs between a laptop and production comes from the environment:
DATABASE_URL (default SQLite under var/), REDIS_URL (default: kombu's filesystem broker under var/),
EMAIL_BACKEND (default: readable files under var/outbox/ through anymail), DEBUG, SECRET_KEY, SITE_URL,
ANYMAIL_WEBHOOK_SECRET ("user:password" the ESP sends to the tracking webhooks; a dev default only with DEBUG).
"""

import os
from pathlib import Path

from django.utils.translation import gettext_lazy as _
from oscar.defaults import *  # noqa: F403

from journey.celery import beat_schedule as journey_beat_schedule
from journey.dashboard import journey_dashboard_menu

from . import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SHOP_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)

DEBUG = env.flag("DEBUG", default=True)
SECRET_KEY = os.environ.get("SECRET_KEY") or "demo-shop-not-secret-change-me-in-production-0123456789"
# Only the demo (DEBUG) falls back to this; production without ANYMAIL_WEBHOOK_SECRET has no secret and check warns.
DEMO_WEBHOOK_SECRET = "journey-demo:webhook-not-secret"
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",") if h]
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.flatpages",
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "oscar.apps.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    "widget_tweaks",
    "haystack",
    "treebeard",
    "sorl.thumbnail",
    "django_tables2",
    "anymail",
    # journey, as docs/install.md tells a shop to add it:
    "journey",
    # the demo's own app (load_demo):
    "shop.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    # journey: visitor id (consent-aware), first-party events written once per request, landings.
    "journey.core.middleware.JourneyMiddleware",
    # journey: Oscar's basket voucher form answered by journey's throttled code form (journey.W021).
    "journey.promotions.middleware.CodeFormMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.i18n",
                "django.contrib.messages.context_processors.messages",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
            ],
        },
    },
]

DATABASES = {"default": env.database(VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

AUTHENTICATION_BACKENDS = (
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
)
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
TIME_ZONE = os.environ.get("TIME_ZONE", "America/New_York")  # the Complete Journey stores' time zone
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "shop" / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
# Oscar thumbnails its placeholder image from MEDIA_ROOT; a fresh checkout has none yet.
_placeholder = MEDIA_ROOT / OSCAR_MISSING_IMAGE_URL  # noqa: F405
if not _placeholder.exists():
    import shutil

    import oscar

    MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(oscar.__file__).parent / "static/oscar/img/image_not_found.jpg", _placeholder)

# Oscar browses the catalogue (home and category pages) through Haystack.  Haystack's SimpleEngine returns nothing
# for an empty query, so browsing would show "0 results": the demo uses Whoosh, a pure-Python index under var/
# (no server; `load_demo` rebuilds it).  Production shops use Solr or Elasticsearch/OpenSearch (docs/demo.md).
HAYSTACK_CONNECTIONS = {
    "default": {
        "ENGINE": "haystack.backends.whoosh_backend.WhooshEngine",
        "PATH": os.environ.get("SHOP_SEARCH_INDEX_DIR") or str(VAR_DIR / "whoosh_index"),
    }
}

# Caches: Redis when there is one; otherwise a file cache every process of the shop shares.
REDIS_URL = env.redis_url()
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Oscar --------------------------------------------------------------------------------------------------
OSCAR_SHOP_NAME = "Complete Journey Grocery"
OSCAR_SHOP_TAGLINE = _("A demo of django-oscar-journey on dunnhumby's The Complete Journey data")
OSCAR_DEFAULT_CURRENCY = "USD"
OSCAR_ALLOW_ANON_CHECKOUT = True
OSCAR_FROM_EMAIL = "shop@example.com"
OSCAR_DASHBOARD_NAVIGATION = OSCAR_DASHBOARD_NAVIGATION + [journey_dashboard_menu()]  # noqa: F405
OSCAR_INITIAL_ORDER_STATUS = "Pending"
OSCAR_INITIAL_LINE_STATUS = "Pending"
OSCAR_ORDER_STATUS_PIPELINE = {
    "Pending": ("Being processed", "Cancelled"),
    "Being processed": ("Complete", "Cancelled"),
    "Complete": (),
    "Cancelled": (),
}

# Mail: readable files under var/outbox/ through anymail's API (tags and metadata work as with a real ESP).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "shop.mail.FileOutboxBackend")
SHOP_OUTBOX_DIR = Path(os.environ.get("SHOP_OUTBOX_DIR") or VAR_DIR / "outbox")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Complete Journey Grocery <shop@example.com>")
# ESP tracking webhooks (/anymail/<esp>/tracking/) need HTTP basic auth "user:password": set ANYMAIL_WEBHOOK_SECRET
# in production (manage.py check --deploy warns when it is missing) and give the same credentials to the ESP.
ANYMAIL = {"WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET") or (DEMO_WEBHOOK_SECRET if DEBUG else "")}

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport (no server needed).
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = journey_beat_schedule()

# journey ------------------------------------------------------------------------------------------------
JOURNEY = {
    "SITE_URL": os.environ.get("SITE_URL", "http://localhost:8000"),
    # The demo can shorten the wait before a basket counts as abandoned (JOURNEY_ABANDON_MINUTES=1 make run).
    "RECOVERY_ABANDON_AFTER_MINUTES": int(os.environ.get("JOURNEY_ABANDON_MINUTES", "60")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "journey": {"handlers": ["console"], "level": os.environ.get("JOURNEY_LOG_LEVEL", "INFO")},
    },
}
