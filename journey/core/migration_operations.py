"""Migration operations for journey's big, busy tables (the events table above all).

``CREATE INDEX`` takes a SHARE lock: on a large ``journey_journeyevent`` it blocks the storefront's event INSERTs for
as long as the build runs.  ``AddIndexConcurrentlyWherePossible`` builds the index ``CONCURRENTLY`` on PostgreSQL
(Django's ``AddIndexConcurrently``; the migration must say ``atomic = False``) and is a plain ``AddIndex`` elsewhere
(SQLite, the embedded default).  It is idempotent: an index of that name that is already there and valid is kept
(so an index can move here from an older migration that created it in a transaction), and an INVALID one left by
an interrupted concurrent build is dropped and built again.  See docs/development.md, "Migrations on big tables".

PostgreSQL cannot build an index CONCURRENTLY on a *partitioned* table (the events table is one since migration 0018):
there both operations create the parent's index ``ON ONLY`` the parent (no rows, invalid until complete), build each
partition's index CONCURRENTLY and attach it; once every partition's is attached the parent's index is valid.  A
partition created later gets the index when it is attached.  Re-running after an interruption goes on where it was.
"""

import hashlib
import re

from django.db import NotSupportedError
from django.db.migrations.operations import AddIndex
from django.db.migrations.operations.base import Operation


def _pg_index_state(schema_editor, name):
    """None if PostgreSQL has no index ``name``; else whether it is valid."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "WHERE c.relname = %s AND pg_catalog.pg_table_is_visible(c.oid)", [name])
        row = cursor.fetchone()
    return None if row is None else row[0]


def _partitions_of(schema_editor, table):
    """The partitions of ``table`` if it is a partitioned table, else None."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
        if not row or row[0] != "p":
            return None
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname", [table])
        return [name for (name,) in cursor.fetchall()]


def _partition_index_name(name, table, partition):
    suffix = partition.removeprefix(table + "_")
    child = f"{name}_{suffix}"
    if len(child) > 63:
        child = f"{name[:50]}_{hashlib.md5(child.encode()).hexdigest()[:12]}"  # noqa: S324 - a name, not a secret
    return child


def _build_on_partitions(schema_editor, name, table, partitions, statement):
    """``statement(index name, target)`` is the CREATE INDEX text (no CONCURRENTLY) of an index ``ON target``."""
    quote = schema_editor.quote_name
    parent = statement(name, f"ONLY {quote(table)}")
    schema_editor.execute(parent.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
    for partition in partitions:
        child = _partition_index_name(name, table, partition)
        state = _pg_index_state(schema_editor, child)
        if state is False:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(child)}")
        if not state:
            schema_editor.execute(statement(child, quote(partition)).replace("CREATE INDEX ", "CREATE INDEX "
                                                                             "CONCURRENTLY ", 1))
        schema_editor.execute(f"ALTER INDEX {quote(name)} ATTACH PARTITION {quote(child)}")


class AddIndexConcurrentlyWherePossible(AddIndex):
    """``AddIndex`` that builds the index CONCURRENTLY on PostgreSQL (needs ``atomic = False``); idempotent."""

    def describe(self):
        return f"Create index {self.index.name} on {self.model_name} (concurrently on PostgreSQL)"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            existing = {}
            if not schema_editor.collect_sql:
                with connection.cursor() as cursor:
                    existing = connection.introspection.get_constraints(cursor, model._meta.db_table)
            if self.index.name not in existing:
                schema_editor.add_index(model, self.index)
            return
        if connection.in_atomic_block and not schema_editor.collect_sql:
            raise NotSupportedError(f"{type(self).__name__} builds indexes CONCURRENTLY, which PostgreSQL cannot do "
                                    "inside a transaction: set atomic = False on the migration.")
        valid = _pg_index_state(schema_editor, self.index.name) if not schema_editor.collect_sql else None
        if valid:
            return
        table = model._meta.db_table
        partitions = _partitions_of(schema_editor, table) if not schema_editor.collect_sql else None
        if partitions is not None:
            quote = schema_editor.quote_name
            sql = str(self.index.create_sql(model, schema_editor))
            head = f"{quote(self.index.name)} ON {quote(table)}"
            _build_on_partitions(schema_editor, self.index.name, table, partitions,
                                 lambda name, target: sql.replace(head, f"{quote(name)} ON {target}", 1))
            return
        if valid is False:  # an interrupted concurrent build left an INVALID index behind
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}")
        schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if (schema_editor.connection.vendor == "postgresql" and not schema_editor.connection.in_atomic_block
                and _partitions_of(schema_editor, model._meta.db_table) is None):  # no DROP … CONCURRENTLY there
            schema_editor.remove_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index)


class CreateIndexSQLConcurrentlyWherePossible(Operation):
    """An index the model state does not describe (e.g. a partial index on an expression), from raw SQL: ``CREATE
    INDEX CONCURRENTLY`` on PostgreSQL (needs ``atomic = False``), plain ``CREATE INDEX`` elsewhere; idempotent as
    ``AddIndexConcurrentlyWherePossible``.  ``definition`` is what follows the index name: ``ON table (…) WHERE …``."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, name, definition):
        self.name, self.definition = name, definition

    def deconstruct(self):
        return type(self).__qualname__, [self.name, self.definition], {}

    def state_forwards(self, app_label, state):
        pass

    def describe(self):
        return f"Create index {self.name} from SQL (concurrently on PostgreSQL)"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        connection, name = schema_editor.connection, schema_editor.quote_name(self.name)
        if connection.vendor != "postgresql":
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {self.definition}")
            return
        if connection.in_atomic_block and not schema_editor.collect_sql:
            raise NotSupportedError(f"{type(self).__name__} builds indexes CONCURRENTLY, which PostgreSQL cannot do "
                                    "inside a transaction: set atomic = False on the migration.")
        valid = _pg_index_state(schema_editor, self.name) if not schema_editor.collect_sql else None
        if valid:
            return
        match = re.match(r'\s*ON\s+(?:ONLY\s+)?"?(\w+)"?(.*)', self.definition, re.S)
        partitions = _partitions_of(schema_editor, match[1]) if match and not schema_editor.collect_sql else None
        if partitions is not None:
            table, rest, quote = match[1], match[2], schema_editor.quote_name
            _build_on_partitions(schema_editor, self.name, table, partitions,
                                 lambda index, target: f"CREATE INDEX {quote(index)} ON {target}{rest}")
            return
        if valid is False:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY {name} {self.definition}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        concurrently = schema_editor.connection.vendor == "postgresql" and not schema_editor.connection.in_atomic_block
        match = re.match(r'\s*ON\s+(?:ONLY\s+)?"?(\w+)"?', self.definition)
        if concurrently and match and _partitions_of(schema_editor, match[1]) is not None:
            concurrently = False  # PostgreSQL drops a partitioned index (and its partitions') only in one go
        schema_editor.execute(f"DROP INDEX {'CONCURRENTLY ' if concurrently else ''}IF EXISTS "
                              f"{schema_editor.quote_name(self.name)}")
