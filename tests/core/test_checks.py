from django.core import checks
from django.test import override_settings

from journey import checks as journey_checks


def ids(messages):
    return sorted(m.id for m in messages)


def test_a_configured_shop_has_no_journey_check_messages():
    assert [m for m in checks.run_checks() if m.id.startswith("journey.")] == []


def test_missing_basket_middleware_is_an_error(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "BasketMiddleware" not in m]
    assert ids(journey_checks.check_oscar()) == ["journey.E001"]


def test_a_forked_basket_middleware_counts(settings):
    settings.MIDDLEWARE = [
        "tests.forked_middleware.ShopBasketMiddleware" if "BasketMiddleware" in m else m for m in settings.MIDDLEWARE
    ]
    assert journey_checks.check_oscar() == []


def test_site_url_missing_is_a_warning_and_a_relative_one_an_error():
    with override_settings(JOURNEY={}):
        assert ids(journey_checks.check_settings()) == ["journey.W004"]
    with override_settings(JOURNEY={"SITE_URL": "shop.example.com"}):
        assert ids(journey_checks.check_settings()) == ["journey.E005"]
    with override_settings(JOURNEY={"SITE_URL": "https://shop.example.com/es/"}):
        assert ids(journey_checks.check_settings()) == ["journey.E005"]
    with override_settings(JOURNEY={"SITE_URL": "https://shop.example.com"}):
        assert journey_checks.check_settings() == []


def test_unknown_journey_keys_are_reported_as_likely_typos():
    with override_settings(JOURNEY={"SITE_URL": "https://x.example", "SITE_ULR": "oops"}):
        messages = journey_checks.check_settings()
    assert ids(messages) == ["journey.W006"]
    assert "SITE_ULR" in messages[0].msg


def test_a_celery_app_is_detected():
    assert journey_checks.check_celery() == []


def test_a_console_mail_backend_is_flagged_by_the_deploy_checks(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert ids(journey_checks.check_email_backend()) == ["journey.W007"]
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    assert journey_checks.check_email_backend() == []
