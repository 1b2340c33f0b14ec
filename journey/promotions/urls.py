"""Promotions' storefront URLs (in the ``journey:`` namespace)."""

from django.urls import path

from . import code_views, views

urlpatterns = [
    path("basket/code/", code_views.apply_code, name="apply-code"),
    path("c/<slug:slug>/", views.campaign_link, name="campaign-link"),
]
