"""Related products' storefront URLs (in the ``journey:`` namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("related/click/", views.record_click, name="related-click"),
]
