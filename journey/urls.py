"""Storefront URLs of journey (restore links, unsubscribe, the basket email form…), under the host's prefix::

    path("journey/", include("journey.urls")),
"""

from django.urls import path

from .core import consent_views
from .core import views as core_views
from .loyalty import profile_views as loyalty_views
from .promotions import urls as promotions_urls
from .recovery import views as recovery_views
from .related import views as related_views

app_name = "journey"

urlpatterns = [
    path("u/<str:token>/", core_views.unsubscribe, name="unsubscribe"),
    path("r/<str:token>/", recovery_views.restore, name="restore-basket"),
    path("r-continue/", recovery_views.restore_after_login, name="restore-basket-continue"),
    path("basket/email/", recovery_views.email_my_basket, name="email-basket"),
    path("related/click/", related_views.record_click, name="related-click"),
    path("account/profile/", loyalty_views.profile, name="account-profile"),
    *promotions_urls.urlpatterns,
    path("consent/", consent_views.consent_view, name="consent"),
]
