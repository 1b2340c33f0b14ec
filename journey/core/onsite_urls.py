"""URLs of on-site messages, to be included in ``journey.urls`` (the ``journey:`` namespace)::

    from .core.onsite_urls import urlpatterns as onsite_urlpatterns
    urlpatterns += onsite_urlpatterns
"""

from django.urls import path

from . import onsite_views

urlpatterns = [
    path("m/<int:pk>/go/", onsite_views.go, name="onsite-go"),
    path("m/<int:pk>/dismiss/", onsite_views.dismiss, name="onsite-dismiss"),
]
