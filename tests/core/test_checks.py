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


def test_tool_packages_journey_cannot_use_are_errors():
    from journey.conf import BUILTIN_TOOLS

    tools = (*BUILTIN_TOOLS, "no_such_tool_package", "email", "tests.tool_without_connect", "tests.host_tool")
    with override_settings(JOURNEY={"SITE_URL": "https://x.example", "TOOLS": tools}):
        messages = journey_checks.check_tool_packages()
    assert ids(messages) == ["journey.E030"] * 3
    by_entry = {m.obj: m.msg for m in messages}
    assert "cannot be imported" in by_entry["no_such_tool_package"]
    assert "has no tool module" in by_entry["email"]
    assert "no connect()" in by_entry["tests.tool_without_connect"]
    with override_settings(JOURNEY={"SITE_URL": "https://x.example", "TOOLS": "journey.recovery"}):
        assert ids(journey_checks.check_tool_packages()) == ["journey.E030"]


def test_manage_py_check_names_each_unusable_tool_package_instead_of_failing_to_start():
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings_bad_tools"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=Path(__file__).resolve().parents[2],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("journey.E030") == 3, result.stderr
    assert "no_such_tool_package" in result.stderr
