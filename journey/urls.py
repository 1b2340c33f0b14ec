"""Storefront URLs of journey (restore links, unsubscribe, the basket email form…), under the host's prefix::

    path("journey/", include("journey.urls")),

The core's own, then each installed tool package's ``urls.urlpatterns`` (JOURNEY["TOOLS"]), all in the ``journey:``
namespace.
"""

from django.urls import path

from .conf import tool_modules
from .core import consent_views, product_links
from .core import views as core_views
from .core.onsite_urls import urlpatterns as onsite_urlpatterns

app_name = "journey"

urlpatterns = [
    path("u/<str:token>/", core_views.unsubscribe, name="unsubscribe"),
    path("consent/", consent_views.consent_view, name="consent"),
    path("p/<str:token>/<int:product_id>/", product_links.go, name="product-link"),
    *onsite_urlpatterns,
]
for module in tool_modules("urls"):
    urlpatterns += module.urlpatterns
