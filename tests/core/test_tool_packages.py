"""JOURNEY["TOOLS"]: a tool package left out is off entirely — no tools on the map, no jobs, no template output.

(The whole-process proof, with a settings module that leaves loyalty out, is tests/…/test_without_loyalty: urls,
admin, receivers and migrations are wired once per process.)
"""

from decimal import Decimal

import pytest
from oscar.test.factories import create_product

from journey.celery import beat_schedule
from journey.conf import BUILTIN_TOOLS, journey_settings, tool_installed, tool_packages
from journey.core import jobs
from journey.core.registry import registry
from journey.related import services

WITHOUT_RELATED = tuple(p for p in BUILTIN_TOOLS if p != "journey.related")


def test_every_builtin_tool_package_is_on_by_default():
    assert tool_packages() == BUILTIN_TOOLS
    assert all(tool_installed(p) for p in BUILTIN_TOOLS)


def test_a_package_left_out_has_no_tool_on_the_map_and_no_job(settings):
    assert "related" in {t.key for t in registry.all()}
    assert "rebuild_related_products" in {j.key for j in jobs.all_jobs()}
    settings.JOURNEY = {**settings.JOURNEY, "TOOLS": WITHOUT_RELATED}
    assert "related" not in {t.key for t in registry.all()}
    assert "rebuild_related_products" not in {j.key for j in jobs.all_jobs()}
    assert "journey.rebuild_related_products" not in beat_schedule(tools=WITHOUT_RELATED)
    assert "journey.rebuild_related_products" in beat_schedule()
    # Its settings stay known: a shop that turns a tool off keeps its JOURNEY keys without a warning.
    assert journey_settings.RELATED_LIST_SIZE == 10 and "RELATED_LIST_SIZE" not in journey_settings.unknown_keys()
    settings.JOURNEY = {**settings.JOURNEY, "TOOLS": BUILTIN_TOOLS}
    assert "related" in {t.key for t in registry.all()}


@pytest.mark.django_db
def test_the_tags_of_a_package_left_out_render_nothing(settings, client):
    cheese = create_product(title="Cheese", price=Decimal("2.00"), num_in_stock=10)
    create_product(title="Crackers", price=Decimal("2.00"), num_in_stock=10)
    services.rebuild()
    assert 'data-journey-list="1"' in client.get(cheese.get_absolute_url()).content.decode()
    settings.JOURNEY = {**settings.JOURNEY, "TOOLS": WITHOUT_RELATED}
    page = client.get(cheese.get_absolute_url())
    assert page.status_code == 200 and "data-journey-list" not in page.content.decode()


def test_a_malformed_tools_setting_is_a_clear_error(settings):
    from journey.exceptions import JourneyConfigurationError

    settings.JOURNEY = {**settings.JOURNEY, "TOOLS": "journey.recovery"}
    with pytest.raises(JourneyConfigurationError, match="TOOLS"):
        tool_packages()


def test_an_unusable_tools_entry_is_skipped_by_the_map_and_the_jobs_and_named_by_the_check(settings):
    settings.JOURNEY = {**settings.JOURNEY, "TOOLS": (*BUILTIN_TOOLS, "no_such_package.tools")}
    assert "recovery" in {t.key for t in registry.all()}  # the journey map still works
    assert "scan_abandoned_baskets" in {j.key for j in jobs.all_jobs()}
    assert "heartbeat" in {j.key for j in jobs.all_jobs(("no_such_package.tools",))}
    from journey.checks import check_tool_packages

    assert [e.id for e in check_tool_packages()] == ["journey.E030"]
