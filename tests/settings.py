"""Test settings: the demo shop's, with what tests need changed.  DATABASE_URL / REDIS_URL as for the shop."""

from shop.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The ESP boundary: anymail's test backend (messages in django.core.mail.outbox with their anymail params).
EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
# Whitenoise's manifest is not built in tests.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
JOURNEY = {"SITE_URL": "http://testserver"}
LANGUAGE_CODE = "en"
