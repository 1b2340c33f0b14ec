"""The demo's URLs with the on-site message views included under ``journey:`` (what journey/urls.py will do once
the central wiring includes journey.core.onsite_urls)."""

from django.urls import include, path

from journey import urls as journey_urls
from journey.core.onsite_urls import urlpatterns as onsite_urlpatterns
from shop.urls import urlpatterns as shop_urlpatterns

names = {p.name for p in journey_urls.urlpatterns}
urlpatterns = [
    path("journey/", include(([*journey_urls.urlpatterns,
                               *[p for p in onsite_urlpatterns if p.name not in names]], "journey"))),
    *[p for p in shop_urlpatterns if str(getattr(p, "pattern", "")) != "journey/"],
]
