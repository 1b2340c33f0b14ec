"""Storefront URLs of promotions (included under the ``journey:`` namespace)."""

from django.urls import path

from . import code_views
from .campaigns import views as campaign_views

urlpatterns = [
    path("basket/code/", code_views.apply_code, name="apply-code"),
    path("c/<slug:slug>/", campaign_views.campaign_link, name="campaign-link"),
]
