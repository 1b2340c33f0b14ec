from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

# No i18n_patterns: the language comes from the visitor's choice (cookie, set by /i18n/setlang/) or browser, so
# the storefront, Django admin and journey's links all speak Spanish to a Spanish-speaking owner or shopper.
urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("journey/", include("journey.urls")),
    # ESP tracking webhooks (docs/mail.md): anymail's views, basic auth from ANYMAIL["WEBHOOK_SECRET"], bad bodies 400.
    path("anymail/", include("journey.core.webhooks")),
    path("", include(apps.get_app_config("oscar").urls[0])),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
