"""Migration operations for journey's big, busy tables (the events table above all).

``CREATE INDEX`` takes a SHARE lock: on a large ``journey_journeyevent`` it blocks the storefront's event INSERTs for
as long as the build runs.  ``AddIndexConcurrentlyWherePossible`` builds the index ``CONCURRENTLY`` on PostgreSQL
(Django's ``AddIndexConcurrently``; the migration must say ``atomic = False``) and is a plain ``AddIndex`` elsewhere
(SQLite, the embedded default).  It is idempotent: an index of that name that is already there and valid is kept
(so an index can move here from an older migration that created it in a transaction), and an INVALID one left by
an interrupted concurrent build is dropped and built again.  See docs/development.md, "Migrations on big tables".
"""

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
        if valid is False:  # an interrupted concurrent build left an INVALID index behind
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}")
        schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql" and not schema_editor.connection.in_atomic_block:
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
        if valid is False:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY {name} {self.definition}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        concurrently = schema_editor.connection.vendor == "postgresql" and not schema_editor.connection.in_atomic_block
        schema_editor.execute(f"DROP INDEX {'CONCURRENTLY ' if concurrently else ''}IF EXISTS "
                              f"{schema_editor.quote_name(self.name)}")
