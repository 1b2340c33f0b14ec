"""Recovery's storefront URLs (in the ``journey:`` namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("r/<str:token>/", views.restore, name="restore-basket"),
    path("r-continue/", views.restore_after_login, name="restore-basket-continue"),
    path("basket/email/", views.email_my_basket, name="email-basket"),
]
