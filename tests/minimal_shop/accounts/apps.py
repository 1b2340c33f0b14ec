from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tests.minimal_shop.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.AutoField"
