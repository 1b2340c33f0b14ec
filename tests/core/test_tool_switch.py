"""Issue 14's deletion test: a tool package left out of JOURNEY["TOOLS"] is off entirely (no job, beat entry, task,
URL, admin page, receiver, mail kind, eraser, tool on the map or template output), while the shop checks, migrates
and serves; a host's own tool package outside journey is switched on and off the same way."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests import tool_probe
from tests.shop.test_minimal_shop import minimal_database  # noqa: F401 - the fixture: a fresh database of this run's kind

ROOT = Path(__file__).resolve().parents[2]


def run_switch_check(settings_module, database_url, tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "DATABASE_URL": database_url,
           "SHOP_VAR_DIR": str(tmp_path / "var")}
    result = subprocess.run([sys.executable, "-m", "tests.tool_switch_check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "tool switch: all good" in result.stdout, output
    return result.stdout


def test_a_shop_without_loyalty_checks_migrates_and_serves_and_nothing_of_loyalty_is_active(
        minimal_database, tmp_path):  # noqa: F811
    stdout = run_switch_check("tests.settings_without_loyalty", minimal_database, tmp_path)
    assert "journey.loyalty off: no receivers: []" in stdout
    assert "tests.host_tool off: no journey map: []" in stdout


def test_a_host_tool_package_outside_journey_is_switched_on_by_listing_it(minimal_database, tmp_path):  # noqa: F811
    stdout = run_switch_check("tests.settings_with_host_tool", minimal_database, tmp_path)
    assert "ok   tests.host_tool on: journey map: ['host_points']" in stdout
    assert "journey.loyalty off: no jobs: []" in stdout


@pytest.mark.django_db
def test_the_probe_finds_every_part_of_loyalty_when_it_is_on(client, django_user_model):
    """The control: in the test settings (every tool on) the same probe finds each part of loyalty."""
    parts = tool_probe.active_parts("journey.loyalty")
    assert all(parts.values()), parts
    assert parts["receivers"] == sorted(parts["receivers"]) and any(
        name.endswith("followups.receivers.order_placed") for name in parts["receivers"])
    assert set(parts["journey map"]) == {"birthday", "post_purchase", "winback"}
    assert tool_probe.loaded_modules("journey.loyalty", ("journey.loyalty.programs",))
    client.force_login(django_user_model.objects.create_user(username="ana", email="ana@example.com", password="pw"))
    assert "data-journey-profile-link" in client.get("/accounts/profile/").content.decode()
    assert reverse("journey:account-profile")


@pytest.mark.django_db
def test_the_demo_activity_leaves_the_retain_programs_alone_when_loyalty_is_off(settings, django_user_model):
    from django.utils import timezone

    from journey.conf import BUILTIN_TOOLS
    from journey.core.models import Message
    from journey.loyalty.birthdays.models import BirthdayProgram
    from journey.loyalty.followups.models import PostPurchaseProgram, WinbackProgram
    from shop.demo import activity

    settings.JOURNEY = {**settings.JOURNEY, "TOOLS": tuple(p for p in BUILTIN_TOOLS if p != "journey.loyalty")}
    django_user_model.objects.create_user(username="household1", email="household1@example.com")
    report = activity.ActivityReport()
    activity._switch_on_programs()
    activity.seed_retain(report, [], now=timezone.now())
    assert not any(model.objects.filter(is_active=True).exists()
                   for model in (BirthdayProgram, PostPurchaseProgram, WinbackProgram))
    assert report.created == {}
    assert not Message.objects.exists()


def test_the_profile_import_command_says_loyalty_is_off(settings, tmp_path):
    from django.core.management import CommandError, call_command

    from journey.conf import BUILTIN_TOOLS

    settings.JOURNEY = {**settings.JOURNEY, "TOOLS": tuple(p for p in BUILTIN_TOOLS if p != "journey.loyalty")}
    csv = tmp_path / "profiles.csv"
    csv.write_text("email,birthday\nana@example.com,1990-05-01\n")
    with pytest.raises(CommandError, match=r"journey\.loyalty is not in JOURNEY\['TOOLS'\]"):
        call_command("journey_import_profiles", str(csv))
