"""Related products: overlapping rebuilds, abandoned builds, the command's lease and arguments, ANALYZE after writes."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from journey.core import jobs
from journey.exceptions import RebuildError
from journey.models import JobState
from journey.related import services
from journey.related.models import RelatedBuild, RelatedProduct
from tests.race import on_postgresql, run_at_once
from tests.related.test_related import live_list, shop  # noqa: F401  (the shop fixture)

pytestmark = pytest.mark.django_db

LIVE = RelatedBuild.Status.LIVE


def rows_of(build_id):
    return RelatedProduct.objects.filter(build_id=build_id).count()


def test_an_older_rebuild_finishing_after_a_newer_one_does_not_replace_it(shop):  # noqa: F811
    """Rebuild A starts; while A computes, rebuild B starts and goes live; then A finishes: B stays live."""
    inner = {}

    def start_another_rebuild(text):
        if not inner:
            inner["report"] = services.rebuild()

    older = services.rebuild(progress=start_another_rebuild)
    newer = inner["report"]
    assert newer.build.pk > older.build.pk
    live = RelatedBuild.objects.get(status=LIVE)
    assert live.pk == newer.build.pk and rows_of(live.pk) == newer.build.rows > 0
    assert not RelatedBuild.objects.filter(pk=older.build.pk).exists() and rows_of(older.build.pk) == 0
    assert "a newer build went live" in str(older)
    assert live_list(shop["cheese"])[0][0] == "Crackers"


def test_consecutive_rebuilds_leave_only_the_newest_build_and_its_rows(shop):  # noqa: F811
    first = services.rebuild().build
    second = services.rebuild().build
    assert list(RelatedBuild.objects.values_list("pk", "status")) == [(second.pk, LIVE)]
    assert rows_of(first.pk) == 0 and rows_of(second.pk) == second.rows


def _building(minutes_ago):
    build = RelatedBuild.objects.create()
    RelatedBuild.objects.filter(pk=build.pk).update(started_at=timezone.now() - timedelta(minutes=minutes_ago))
    RelatedProduct.objects.create(build=build, product_id=1, related_id=2, rank=1, score=1.0, source=3)
    return build


def test_a_killed_rebuild_is_cleaned_up_once_abandoned_but_a_running_one_is_left_alone(shop, settings):  # noqa: F811
    settings.JOURNEY = {**settings.JOURNEY, "RELATED_ABANDONED_AFTER_MINUTES": 120}
    killed = _building(minutes_ago=121)
    running = _building(minutes_ago=5)
    build = services.rebuild().build
    assert not RelatedBuild.objects.filter(pk=killed.pk).exists() and rows_of(killed.pk) == 0
    assert RelatedBuild.objects.get(pk=running.pk).status == RelatedBuild.Status.BUILDING and rows_of(running.pk) == 1
    assert RelatedBuild.objects.get(status=LIVE).pk == build.pk


def test_a_rebuild_whose_build_was_cleaned_up_as_abandoned_fails_cleanly_and_keeps_the_live_lists(shop):  # noqa: F811
    live = services.rebuild().build

    def someone_cleaned_up(text):
        RelatedBuild.objects.filter(status=RelatedBuild.Status.BUILDING).delete()

    with pytest.raises(RebuildError, match="previous lists stay live"):
        services.rebuild(progress=someone_cleaned_up)
    assert RelatedBuild.objects.get(status=LIVE).pk == live.pk and rows_of(live.pk) == live.rows


@pytest.mark.django_db(transaction=True)
@on_postgresql
def test_two_rebuilds_at_once_leave_one_complete_live_build(shop):  # noqa: F811
    services.rebuild()
    both_read = threading.Barrier(2, timeout=30)

    def both_have_read(text):
        if text.startswith("read"):
            both_read.wait()  # both builds exist and are computing: their swaps overlap

    results = run_at_once(2, lambda _i: services.rebuild(progress=both_have_read).build.pk, timeout=30)
    live = RelatedBuild.objects.get(status=LIVE)
    assert live.pk == max(results)  # the later-started build is the one left live
    assert rows_of(live.pk) == live.rows > 0
    assert RelatedProduct.objects.exclude(build_id=live.pk).count() == 0
    assert live_list(shop["cheese"])[0][0] == "Crackers"


def test_the_command_takes_the_jobs_lease_and_a_second_run_says_so(shop):  # noqa: F811
    job = jobs.get_job("rebuild_related_products")
    token = jobs._claim(job, timezone.now(), force=True)  # the nightly job is running elsewhere
    assert token
    out = StringIO()
    call_command("journey_rebuild_related", stdout=out, stderr=StringIO())
    assert "already running" in out.getvalue()
    assert not RelatedBuild.objects.exists()

    JobState.objects.filter(key=job.key).update(lease_until=None, lease_token="")
    call_command("journey_rebuild_related", stdout=StringIO(), stderr=StringIO())
    state = JobState.objects.get(key=job.key)
    assert RelatedBuild.objects.filter(status=LIVE).count() == 1
    assert state.lease_until is None and state.lease_token == ""  # released


def test_the_job_does_not_run_while_the_command_holds_the_lease(shop):  # noqa: F811
    seen = []

    def job_meanwhile(text):
        if not seen:
            seen.append(jobs.run_job("rebuild_related_products", force=True).state)

    with jobs.holding("rebuild_related_products"):
        services.rebuild(progress=job_meanwhile)
    assert seen == ["busy"]


@pytest.mark.parametrize("until, message", [
    ("05/11/2017", "must be a date"),
    ("2999-01-01", "in the future"),
    ("0001-01-01", "too early"),
    ("0000-01-01", "must be a date"),
    ("", "must be a date"),
])
def test_the_command_explains_a_bad_until(until, message):
    with pytest.raises(CommandError, match=message):
        call_command("journey_rebuild_related", "--until", until, stdout=StringIO(), stderr=StringIO())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ANALYZE after the bulk COPY is PostgreSQL's")
def test_the_rebuild_analyses_the_rows_it_wrote(shop):  # noqa: F811
    build = services.rebuild().build
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [RelatedProduct._meta.db_table])
        (reltuples,) = cursor.fetchone()
    assert reltuples == build.rows > 0
