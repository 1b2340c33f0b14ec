"""URLs of on-site messages (the ``journey:`` namespace; journey/urls.py includes them)."""

from django.urls import path

from . import onsite_views

urlpatterns = [
    path("m/<int:pk>/go/", onsite_views.go, name="onsite-go"),
    path("m/<int:pk>/dismiss/", onsite_views.dismiss, name="onsite-dismiss"),
]
