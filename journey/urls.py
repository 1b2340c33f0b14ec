"""Storefront URLs of journey (restore links, campaign links, unsubscribe…), under the host's prefix::

    path("journey/", include("journey.urls")),
"""

app_name = "journey"

urlpatterns = []
