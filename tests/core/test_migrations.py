"""Migrations on the events table: indexes are built CONCURRENTLY on PostgreSQL (no blocked event INSERTs)."""

import re
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

from journey.core.migration_operations import AddIndexConcurrentlyWherePossible
from journey.models import JourneyEvent

EVENTS = JourneyEvent._meta.db_table
CREATES_EVENTS_TABLE = "0006_events"


def index_statements_on_events():
    """(migration, SQL statement) for every CREATE INDEX on the events table in journey's migration plan."""
    loader = MigrationLoader(connection)
    found = []
    for (app, name) in sorted(loader.disk_migrations):
        if app != "journey":
            continue
        out = StringIO()
        call_command("sqlmigrate", "journey", name, stdout=out)
        for statement in out.getvalue().split(";"):
            if re.search(rf'CREATE (UNIQUE )?INDEX .* ON "?{EVENTS}"?', statement, re.S):
                found.append((name, " ".join(statement.split())))
    return found


@pytest.mark.django_db(transaction=True)  # sqlmigrate of a non-atomic migration, as manage.py runs it
@pytest.mark.skipif(connection.vendor != "postgresql", reason="CONCURRENTLY is PostgreSQL's")
def test_indexes_added_to_the_existing_events_table_are_built_concurrently_on_postgresql():
    added_later = [(name, sql) for name, sql in index_statements_on_events() if name != CREATES_EVENTS_TABLE]
    assert {"journey_event_order", "journey_event_touch"} <= {re.search(r'INDEX (?:CONCURRENTLY )?"?(\w+)', sql)[1]
                                                              for _name, sql in added_later}
    blocking = [(name, sql) for name, sql in added_later if "CONCURRENTLY" not in sql]
    assert blocking == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "postgresql", reason="the fallback elsewhere")
def test_elsewhere_the_same_migration_builds_plain_indexes():
    statements = [sql for name, sql in index_statements_on_events() if name.startswith("0014")]
    assert len(statements) == 2 and not any("CONCURRENTLY" in sql for sql in statements)


@pytest.mark.django_db(transaction=True)
def test_the_concurrent_operation_keeps_an_index_an_older_migration_already_built():
    """Databases that ran 0011/0013 before the indexes moved to 0014 already have them: 0014 is a no-op there."""
    index = next(i for i in JourneyEvent._meta.indexes if i.name == "journey_event_order")
    operation = AddIndexConcurrentlyWherePossible(model_name="journeyevent", index=index)
    state = ProjectState.from_apps(apps)
    with connection.schema_editor(atomic=False) as editor:
        operation.database_forwards("journey", editor, state, state)
    with connection.cursor() as cursor:
        assert "journey_event_order" in connection.introspection.get_constraints(cursor, EVENTS)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the events table is partitioned on PostgreSQL only")
def test_a_new_index_on_the_partitioned_events_table_is_built_concurrently_partition_by_partition():
    """PostgreSQL cannot CREATE INDEX CONCURRENTLY on a partitioned table: the helpers build the parent's index ON
    ONLY, each partition's concurrently, and attach them; the result is one valid partitioned index.  Idempotent."""
    from journey.core import partitions
    from journey.core.migration_operations import CreateIndexSQLConcurrentlyWherePossible

    index = models.Index(fields=["ref"], name="journey_event_bench_ref")
    operations = [AddIndexConcurrentlyWherePossible(model_name="journeyevent", index=index),
                  CreateIndexSQLConcurrentlyWherePossible("journey_event_bench_kind",
                                                          f"ON {EVENTS} (kind) WHERE kind = 'landing'")]
    state = ProjectState.from_apps(apps)
    try:
        for _twice in range(2):
            for operation in operations:
                with connection.schema_editor(atomic=False) as editor:
                    operation.database_forwards("journey", editor, state, state)
        with connection.cursor() as cursor:
            for name in ("journey_event_bench_ref", "journey_event_bench_kind"):
                cursor.execute("SELECT i.indisvalid, (SELECT count(*) FROM pg_inherits h WHERE h.inhparent = c.oid) "
                               "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s", [name])
                assert cursor.fetchone() == (True, len(partitions.partitions()))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS journey_event_bench_ref")
            cursor.execute("DROP INDEX IF EXISTS journey_event_bench_kind")
