"""The events table at scale: monthly partitions on PostgreSQL (created ahead, idempotent, concurrent-safe, a DEFAULT
partition so an insert never fails), retention that drops whole old months and deletes rows only in the boundary
month, erasure across partitions; SQLite keeps a plain table and deletes in batches."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from oscar.test.factories import UserFactory

from journey.core import jobs, partitions, privacy
from journey.core.models import JourneyEvent
from tests.race import on_postgresql, run_at_once

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def at(year, month, day, hour=12):
    return datetime(year, month, day, hour, tzinfo=UTC)


def event(when, **fields):
    return JourneyEvent.objects.create(created_at=when, kind="product_view", visitor_id=fields.pop("visitor", "v1"),
                                       **fields)


def partition_of(event_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM journey_journeyevent WHERE id = %s", [event_id])
        return cursor.fetchone()[0]


def names():
    return [p.name for p in partitions.partitions()]


@pytest.fixture
def restore_partitions():
    """For tests that commit (transaction=True): drop the partitions they created, so the next test sees the set the
    migration made."""
    before = set(names())
    yield
    with connection.cursor() as cursor:
        for name in set(names()) - before:
            cursor.execute(f'DROP TABLE IF EXISTS "{name}"')


@on_postgresql
def test_the_migration_left_a_partitioned_table_with_months_ahead_a_default_and_the_indexes():
    assert partitions.is_partitioned()
    found = partitions.partitions()
    assert found[-1].is_default and found[-1].name == "journey_journeyevent_default"
    this_month = partitions.month_start(datetime.now(UTC))
    months = [p.start for p in found if not p.is_default]
    assert this_month in months and partitions.add_months(this_month, 3) in months  # EVENT_PARTITION_MONTHS_AHEAD
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                       "'journey_journeyevent'::regclass AND contype = 'p'")
        assert cursor.fetchone()[0] == "PRIMARY KEY (id, created_at)"
        cursor.execute("SELECT pg_get_serial_sequence('journey_journeyevent', 'id')")
        assert cursor.fetchone()[0] == "public.journey_journeyevent_id_seq"  # Django's sequence reset finds it
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [found[0].name])
        on_a_partition = {row[0] for row in cursor.fetchall()}
    assert len(on_a_partition) == 6  # primary key, when+kind, visitor, user, order, touch: one per partitioned index
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'journey_journeyevent'")
        assert {row[0] for row in cursor.fetchall()} >= {"journey_event_when_kind", "journey_event_visitor",
                                                         "journey_event_user", "journey_event_order",
                                                         "journey_event_touch", "journey_journeyevent_pkey"}


@on_postgresql
def test_ids_come_from_one_sequence_and_stay_unique_across_months():
    ids = [event(at(2026, month, 10)).pk for month in (10, 11, 12)] + [event(at(2031, 1, 1)).pk]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert JourneyEvent.objects.get(pk=ids[0]).created_at == at(2026, 10, 10)


@on_postgresql
def test_creating_partitions_is_idempotent():
    created = partitions.ensure_partitions(now=at(2041, 1, 15), since=at(2040, 1, 15))
    assert created[0] == "journey_journeyevent_p2040_01" and created[-1] == "journey_journeyevent_p2041_04"
    assert partitions.ensure_partitions(now=at(2041, 1, 15), since=at(2040, 1, 15)) == []
    months = [p.start for p in partitions.partitions() if not p.is_default]
    assert months == sorted(set(months)) and at(2040, 1, 1, 0) in months and at(2041, 4, 1, 0) in months


@on_postgresql
def test_an_event_in_a_month_without_a_partition_lands_in_the_default_and_moves_when_the_month_is_created():
    far = at(2031, 5, 20)
    row = event(far)
    assert partition_of(row.pk) == "journey_journeyevent_default"
    assert partitions.ensure_partitions(now=far, months_ahead=0, since=far) == ["journey_journeyevent_p2031_05"]
    assert partition_of(row.pk) == "journey_journeyevent_p2031_05"
    assert JourneyEvent.objects.filter(pk=row.pk, created_at=far).count() == 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_create_each_partition_once_and_none_fails(restore_partitions):
    far = at(2032, 2, 1)
    event(at(2032, 3, 9))  # in the DEFAULT partition: one of the runs moves it, once
    results = run_at_once(4, lambda i: partitions.ensure_partitions(now=far, months_ahead=2, since=far))
    created = [name for result in results for name in result]
    assert sorted(created) == ["journey_journeyevent_p2032_02", "journey_journeyevent_p2032_03",
                               "journey_journeyevent_p2032_04"]
    assert JourneyEvent.objects.filter(created_at__year=2032).count() == 1


@on_postgresql
def test_the_partitions_job_runs_from_journey_tick_and_is_listed():
    assert "event_partitions" in [job.key for job in jobs.all_jobs()]
    partitions.partitions_job(now=NOW)
    assert partitions.partitions_job(now=NOW) == "partitions up to date"


def old_and_new_events():
    """Events in four months around a cutoff of 2026-10-15 12:00: two whole old months, the boundary month."""
    rows = {
        "august": [event(at(2026, 8, d)) for d in (1, 31)],
        "september": [event(at(2026, 9, d)) for d in (1, 15, 30)],
        "october_old": [event(at(2026, 10, 1)), event(at(2026, 10, 15, 11))],
        "october_new": [event(at(2026, 10, 15, 13)), event(at(2026, 10, 31))],
        "november": [event(at(2026, 11, 2))],
    }
    return rows


def test_retention_deletes_exactly_what_is_older_than_the_cutoff_and_running_twice_deletes_nothing(settings):
    settings.JOURNEY = {**settings.JOURNEY, "EVENT_RETENTION_DAYS": 49, "RETENTION_BATCH_SIZE": 2}
    partitions.ensure_partitions(now=NOW, since=at(2026, 8, 1))
    rows = old_and_new_events()
    now = at(2026, 10, 15) + timedelta(days=49)  # cutoff 2026-10-15 12:00
    counts = privacy.purge(now=now)
    assert counts["events"] == 7
    kept = {e.pk for e in rows["october_new"] + rows["november"]}
    assert set(JourneyEvent.objects.values_list("pk", flat=True)) == kept
    assert privacy.purge(now=now)["events"] == 0


@on_postgresql
def test_retention_drops_whole_old_months_and_deletes_rows_only_in_the_boundary_month(settings):
    settings.JOURNEY = {**settings.JOURNEY, "EVENT_RETENTION_DAYS": 49}
    partitions.ensure_partitions(now=NOW, since=at(2026, 8, 1))
    old_and_new_events()
    now = at(2026, 10, 15) + timedelta(days=49)
    assert {"journey_journeyevent_p2026_08", "journey_journeyevent_p2026_09"} <= set(names())
    assert privacy.purge(now=now)["events"] == 7
    after = partitions.partitions()
    assert all(p.end > at(2026, 10, 15) for p in after if not p.is_default)  # every older month dropped
    assert {"journey_journeyevent_p2026_10", "journey_journeyevent_default"} <= {p.name for p in after}
    assert JourneyEvent.objects.filter(created_at__lt=at(2026, 10, 15)).count() == 0
    assert JourneyEvent.objects.count() == 3


@on_postgresql
def test_retention_also_deletes_old_rows_left_in_the_default_partition(settings):
    settings.JOURNEY = {**settings.JOURNEY, "EVENT_RETENTION_DAYS": 30}
    old = event(at(2019, 3, 1))  # no partition for 2019: DEFAULT
    assert partition_of(old.pk) == "journey_journeyevent_default"
    assert privacy.purge(now=NOW)["events"] == 1
    assert not JourneyEvent.objects.filter(pk=old.pk).exists()


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_retention_runs_drop_each_month_once_and_count_each_row_once(settings, restore_partitions):
    settings.JOURNEY = {**settings.JOURNEY, "EVENT_RETENTION_DAYS": 49}
    partitions.ensure_partitions(now=NOW, since=at(2026, 8, 1))
    old_and_new_events()
    now = at(2026, 10, 15) + timedelta(days=49)
    results = run_at_once(3, lambda i: privacy.purge(now=now)["events"])
    assert sum(results) == 7
    assert JourneyEvent.objects.count() == 3


@on_postgresql
def test_erasure_removes_one_persons_events_in_every_partition():
    ana, bob = UserFactory(), UserFactory()
    partitions.ensure_partitions(now=NOW, since=at(2026, 6, 1))
    mine = [event(at(2026, m, 5), visitor="ana", user_id=ana.pk) for m in (6, 9, 12)]
    mine.append(event(at(2031, 1, 1), visitor="", user_id=ana.pk))
    theirs = event(at(2026, 9, 5), visitor="bob", user_id=bob.pk)
    assert len({partition_of(e.pk) for e in mine}) == 4
    counts = privacy.erase(user_id=ana.pk)
    assert counts["events"] == 4
    assert list(JourneyEvent.objects.values_list("pk", flat=True)) == [theirs.pk]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_rows_and_sequence_both_ways(restore_partitions):
    """0018 forwards and backwards keep every row, its id and partition-free reads; the sequence goes on."""
    rows = [event(at(2025, 2, 1)), event(at(2026, 11, 30)), event(at(2035, 1, 1))]
    with transaction.atomic():
        partitions.convert_to_plain(connection)
    assert not partitions.is_partitioned()
    after_plain = event(at(2026, 12, 1))
    assert after_plain.pk > rows[-1].pk
    with transaction.atomic():
        partitions.convert_to_partitioned(connection, now=NOW)
    assert partitions.is_partitioned()
    assert partition_of(rows[0].pk) == "journey_journeyevent_p2025_02"
    assert partition_of(rows[2].pk) == "journey_journeyevent_default"
    assert sorted(JourneyEvent.objects.values_list("pk", flat=True)) == [r.pk for r in rows] + [after_plain.pk]
    assert event(at(2026, 12, 2)).pk > after_plain.pk


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite keeps a plain table")
def test_elsewhere_the_table_is_plain_and_the_partition_functions_do_nothing():
    assert not partitions.is_partitioned()
    assert partitions.partitions() == []
    assert partitions.ensure_partitions(now=NOW) == []
    assert partitions.drop_partitions_before(NOW) == (0, [])
    assert partitions.partitions_job() == "not partitioned (PostgreSQL only)"
