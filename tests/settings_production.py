"""Production-like settings (case F40): the demo shop's, with DEBUG off and every deploy setting a real shop sets.

``manage.py check --deploy --settings=tests.settings_production`` must be clean; tests/core/test_deploy_checks.py also
runs it with the flaws journey deliberately warns about (``TEST_DEPLOY_FLAWS=1``).
"""

import os

from shop.settings import *  # noqa: F403

DEBUG = False
SECRET_KEY = "f40-production-like-" + "k9Qz3vX7pL2mW8rT5yB1nC6hJ4dF0gS-aE_uI" * 2
ALLOWED_HOSTS = ["shop.example.com"]
SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
ANYMAIL = {"POSTMARK_SERVER_TOKEN": "server-token", "WEBHOOK_SECRET": "postmark:long-random-webhook-password"}
JOURNEY = {**JOURNEY, "SITE_URL": "https://shop.example.com"}  # noqa: F405

if os.environ.get("TEST_DEPLOY_FLAWS"):
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    ANYMAIL = {"POSTMARK_SERVER_TOKEN": "server-token"}
    JOURNEY["SITE_URL"] = "http://shop.example.com"
