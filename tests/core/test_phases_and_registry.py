from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from journey.core import jobs
from journey.core.models import JobState
from journey.exceptions import JourneyConfigurationError, UnknownTool
from journey.phases import Phase
from journey.registry import Health, Status, Tool, ToolRegistry, Touchpoint, registry


def test_phases_are_the_four_journey_phases_in_order():
    assert [p.value for p in Phase] == ["attract", "convince", "sell", "retain"]
    assert [str(p.label) for p in Phase] == ["Attract", "Convince", "Sell", "Retain"]


def test_phase_labels_are_translated_to_spanish():
    with translation.override("es"):
        assert [str(p.label) for p in Phase] == ["Atraer", "Convencer", "Vender", "Fidelizar"]


def make_tool(key="loyalty_points", **kwargs):
    defaults = {"name": "Loyalty points", "description": "Points per order", "phases": [Phase.RETAIN],
                "touchpoints": [Touchpoint.WEB], "provider": "host"}
    return Tool(key=key, **{**defaults, **kwargs})


def test_a_tool_must_serve_a_phase_and_have_a_plain_key():
    with pytest.raises(JourneyConfigurationError):
        make_tool(phases=[])
    with pytest.raises(JourneyConfigurationError):
        make_tool(key="has space")
    with pytest.raises(ValueError):
        make_tool(phases=["someday"])


def test_registering_two_tools_under_one_key_is_refused():
    reg = ToolRegistry(load_builtins=False)
    reg.register(make_tool())
    with pytest.raises(JourneyConfigurationError):
        reg.register(make_tool(name="Another"))
    reg.register(make_tool(name="Another"), replace=True)
    assert str(reg.get("loyalty_points").name) == "Another"
    with pytest.raises(UnknownTool):
        reg.get("nope")


def test_by_phase_lists_every_phase_and_puts_a_multi_phase_tool_in_each():
    reg = ToolRegistry(load_builtins=False)
    reg.register(make_tool("a", phases=[Phase.CONVINCE, Phase.SELL]))
    reg.register(make_tool("b", phases=[Phase.RETAIN]))
    columns = reg.by_phase()
    assert list(columns) == list(Phase)
    assert [t.key for t in columns[Phase.ATTRACT]] == []
    assert [t.key for t in columns[Phase.CONVINCE]] == ["a"]
    assert [t.key for t in columns[Phase.SELL]] == ["a"]
    assert [t.key for t in columns[Phase.RETAIN]] == ["b"]


@pytest.mark.django_db
def test_builtin_registry_maps_oscar_features_to_every_phase():
    columns = registry.by_phase()
    assert all(columns[phase] for phase in Phase), "every phase has at least one tool"
    assert {"oscar_offers", "oscar_vouchers", "oscar_reviews", "oscar_wishlists"} <= {t.key for t in registry.all()}


def test_a_broken_health_check_is_reported_not_raised():
    def boom():
        raise RuntimeError("database on fire")

    health = make_tool(health=boom).check_health()
    assert health.status == Status.ERROR
    assert "database on fire" in str(health.message)


def test_a_disabled_tool_is_off():
    with override_settings(JOURNEY={"DISABLED_TOOLS": ["loyalty_points"]}):
        health = make_tool(health=lambda: Health.ok("fine")).check_health()
    assert health.status == Status.OFF


@pytest.mark.django_db
def test_a_tool_whose_job_never_ran_is_not_running():
    health = make_tool(health=lambda: Health.ok("configured"), jobs=["heartbeat"]).check_health()
    assert health.status == Status.WARNING
    assert "journey_tick" in str(health.message)


@pytest.mark.django_db
def test_a_tool_whose_job_ran_recently_is_ok():
    assert jobs.run_job("heartbeat").state == "ran"
    health = make_tool(health=lambda: Health.ok("configured"), jobs=["heartbeat"]).check_health()
    assert health.status == Status.OK


LOYALTY = make_tool("host_loyalty", name="Host loyalty")


def test_host_tools_from_settings_are_registered_and_forgotten_when_the_setting_changes():
    with override_settings(JOURNEY={"EXTRA_TOOLS": ["tests.core.test_phases_and_registry.LOYALTY"]}):
        assert registry.get("host_loyalty") is LOYALTY
    with pytest.raises(UnknownTool):
        registry.get("host_loyalty")


def test_a_wrong_extra_tool_path_is_a_configuration_error():
    settings_ = override_settings(JOURNEY={"EXTRA_TOOLS": ["tests.nowhere.TOOL"]})
    with settings_, pytest.raises(JourneyConfigurationError):
        registry.all()


def _job_state(key, **fields):
    JobState.objects.update_or_create(key=key, defaults=fields)


@pytest.mark.django_db
def test_a_job_waiting_for_its_first_run_while_the_scheduler_runs_is_running():
    """Right after `make run`: beat sends a daily job only a day after it started, the heartbeat every minute."""
    assert jobs.run_job("heartbeat").state == "ran"
    tool = make_tool(health=lambda: Health.ok("configured"), jobs=["schedule_winback_mails", "birthday_rewards"])
    health = tool.check_health()
    assert health.status == Status.OK
    assert str(health.message) == "configured"
    assert jobs.stale_jobs(["schedule_winback_mails", "birthday_rewards"]) == []


@pytest.mark.django_db
def test_a_job_that_never_ran_long_after_the_scheduler_started_needs_attention():
    assert jobs.run_job("heartbeat").state == "ran"
    # The hourly birthday job has been expected for four hours (its row exists since then) and never ran.
    _job_state("birthday_rewards", next_run_at=timezone.now() - timedelta(hours=4))
    health = make_tool(health=lambda: Health.ok("configured"), jobs=["birthday_rewards"]).check_health()
    assert health.status == Status.WARNING
    assert "birthday_rewards" in str(health.message)


@pytest.mark.django_db
def test_a_job_that_only_ever_failed_needs_attention_even_while_the_scheduler_runs():
    assert jobs.run_job("heartbeat").state == "ran"
    _job_state("schedule_winback_mails", next_run_at=timezone.now(), failures=1, last_error="boom")
    assert jobs.stale_jobs(["schedule_winback_mails"]) == ["schedule_winback_mails"]


@pytest.mark.django_db
def test_a_daily_job_that_ran_yesterday_is_running_until_it_is_really_late():
    now = timezone.now()
    ran = now - timedelta(hours=30)
    _job_state("schedule_winback_mails", next_run_at=ran + timedelta(days=1), last_success_at=ran, runs=1)
    assert jobs.stale_jobs(["schedule_winback_mails"]) == []  # not due long enough to worry (3 intervals)
    ran = now - timedelta(days=4)
    _job_state("schedule_winback_mails", next_run_at=ran + timedelta(days=1), last_success_at=ran, runs=1)
    assert jobs.stale_jobs(["schedule_winback_mails"]) == ["schedule_winback_mails"]


@pytest.mark.django_db
def test_a_job_with_its_next_run_not_due_yet_is_not_stale():
    """A shop that lengthened a job's interval (JOB_INTERVALS): the job is not late before its next run is due."""
    now = timezone.now()
    ran = now - timedelta(days=4)
    _job_state("schedule_winback_mails", next_run_at=now + timedelta(days=3), last_success_at=ran, runs=1)
    assert jobs.stale_jobs(["schedule_winback_mails"]) == []
