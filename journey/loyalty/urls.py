"""Loyalty's storefront URLs (in the ``journey:`` namespace)."""

from django.urls import path

from .profiles import views as profile_views

urlpatterns = [
    path("account/profile/", profile_views.profile, name="account-profile"),
]
