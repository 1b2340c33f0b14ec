"""Monthly partitions of the events table on PostgreSQL (declarative partitioning, ``RANGE (created_at)``).

Why: a shop keeps a year of events (``EVENT_RETENTION_DAYS``), 100 M rows for a busy one.  Partitioned by month,

* a query for a period reads only the months it covers (partition pruning), and each month's indexes are small;
* retention **drops a whole month** (``DROP TABLE`` of one partition: instant, no dead rows, no vacuum) instead of
  deleting millions of rows; only the month the cutoff falls in is deleted row by row.

The shape (migration ``0018``): ``journey_journeyevent`` is the partitioned parent with one partition per calendar
month (UTC), ``journey_journeyevent_pYYYY_MM``, and a DEFAULT partition ``journey_journeyevent_default`` that takes
any row no month partition covers, so an INSERT never fails.  The indexes are partitioned indexes (one per
partition, created with the partition).  The primary key is ``(id, created_at)`` — PostgreSQL requires a unique
constraint on a partitioned table to include the partition key — while Django's model keeps ``id`` as its primary
key: ids stay unique because every row takes its id from one sequence (``journey_journeyevent_id_seq``, owned by
the column), and no code writes an id of its own.

The ``event_partitions`` job (daily; also ``manage.py journey_tick --job event_partitions --force``) creates the
current month and the next ``EVENT_PARTITION_MONTHS_AHEAD`` ones.  It is idempotent and safe to run concurrently:
a transaction-level advisory lock serialises the runners and each month is created only if no partition covers it.
A month that already has rows in the DEFAULT partition (the job did not run for a while) gets them moved into its
new partition in the same transaction.

SQLite (and any other database) keeps a plain table: every function here is a no-op there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection as default_connection
from django.db import transaction
from django.utils import timezone

from ..conf import journey_settings

EVENTS = "journey_journeyevent"
DEFAULT_PARTITION = f"{EVENTS}_default"
SEQUENCE = f"{EVENTS}_id_seq"
# pg_advisory_xact_lock key for every change to the partitions (any fixed 64-bit number; "jrnypart").
LOCK_KEY = 0x6A726E7970617274

_BOUND = re.compile(r"FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime | None  # None for the DEFAULT partition
    end: datetime | None

    @property
    def is_default(self) -> bool:
        return self.start is None


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of ``moment``'s calendar month in UTC."""
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"{EVENTS}_p{start:%Y_%m}"


def _quote(name):
    return '"' + name.replace('"', '""') + '"'


def is_partitioned(connection=None) -> bool:
    """Whether the events table is a partitioned table (PostgreSQL after migration 0018)."""
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(%s)", [EVENTS])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def _parse_bound(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def partitions(connection=None) -> list[Partition]:
    """The events table's partitions, months in order, the DEFAULT partition last; [] when not partitioned."""
    connection = connection or default_connection
    if not is_partitioned(connection):
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                       "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)", [EVENTS])
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        match = _BOUND.search(bound or "")
        if match:
            found.append(Partition(name, _parse_bound(match[1]), _parse_bound(match[2])))
        elif (bound or "").strip().upper() == "DEFAULT":
            found.append(Partition(name, None, None))
    return sorted(found, key=lambda p: (p.is_default, p.start or datetime.min.replace(tzinfo=UTC)))


def _lock(cursor):
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _create_default(cursor):
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {_quote(DEFAULT_PARTITION)} PARTITION OF {_quote(EVENTS)} DEFAULT")


def _create_month(cursor, start: datetime, existing: list[Partition]) -> str | None:
    """Create the partition of the month beginning at ``start`` unless a partition overlaps it; its name or None.

    Rows of that month already in the DEFAULT partition move into the new partition (PostgreSQL refuses to attach
    a range the DEFAULT partition holds rows of)."""
    end = add_months(start, 1)
    if any(p.start is not None and p.start < end and start < p.end for p in existing):
        return None
    name = partition_name(start)
    table, default = _quote(name), _quote(DEFAULT_PARTITION)
    cursor.execute(f"CREATE TABLE {table} (LIKE {_quote(EVENTS)} INCLUDING DEFAULTS)")
    if any(p.is_default for p in existing):
        cursor.execute(f"WITH moved AS (DELETE FROM {default} WHERE created_at >= %s AND created_at < %s "  # noqa: S608
                       f"RETURNING *) INSERT INTO {table} SELECT * FROM moved", [start, end])
    # ATTACH (a SHARE UPDATE EXCLUSIVE lock on the parent: event INSERTs go on) builds the partition's indexes.
    cursor.execute(f"ALTER TABLE {_quote(EVENTS)} ATTACH PARTITION {table} FOR VALUES FROM (%s) TO (%s)",
                   [start, end])
    return name


def ensure_partitions(now=None, months_ahead=None, since=None, connection=None) -> list[str]:
    """Create the DEFAULT partition and the month partitions from ``since`` (default: ``now``) to ``months_ahead``
    months after ``now``'s month; returns the names created.  Idempotent; concurrent runs wait for each other."""
    connection = connection or default_connection
    if not is_partitioned(connection):
        return []
    now = now or timezone.now()
    ahead = journey_settings.EVENT_PARTITION_MONTHS_AHEAD if months_ahead is None else months_ahead
    first, last = month_start(since or now), add_months(month_start(now), max(0, int(ahead)))
    created = []
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _lock(cursor)
        existing = partitions(connection)
        if not any(p.is_default for p in existing):
            _create_default(cursor)
            created.append(DEFAULT_PARTITION)
            existing.append(Partition(DEFAULT_PARTITION, None, None))
        month = first
        while month <= last:
            name = _create_month(cursor, month, existing)
            if name:
                created.append(name)
                existing.append(Partition(name, month, add_months(month, 1)))
            month = add_months(month, 1)
    return created


def drop_partitions_before(cutoff: datetime, connection=None) -> tuple[int, list[str]]:
    """Drop every month partition that ends at or before ``cutoff`` (all its rows are older); returns (rows dropped,
    partition names).  The month the cutoff falls in and the DEFAULT partition are left to a row-by-row delete."""
    connection = connection or default_connection
    if not is_partitioned(connection):
        return 0, []
    rows, names = 0, []
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _lock(cursor)  # a concurrent run waits here, then finds the partitions gone
        for partition in partitions(connection):
            if partition.is_default or partition.end > cutoff:
                continue
            cursor.execute(f"SELECT count(*) FROM {_quote(partition.name)}")  # noqa: S608 - a catalogue name
            rows += cursor.fetchone()[0]
            cursor.execute(f"DROP TABLE {_quote(partition.name)}")
            names.append(partition.name)
    return rows, names


def partitions_job(via="tick", now=None) -> str:
    """The ``event_partitions`` job: this month's and the next EVENT_PARTITION_MONTHS_AHEAD months' partitions."""
    if default_connection.vendor != "postgresql":
        return "not partitioned (PostgreSQL only)"
    if not is_partitioned():
        return "the events table is not partitioned (migration 0018 not applied)"
    created = ensure_partitions(now=now)
    return f"created {', '.join(created)}" if created else "partitions up to date"


# Migration 0018 ---------------------------------------------------------------------------------------------------
def _index_definitions(cursor, table):
    """(name, CREATE INDEX statement) of ``table``'s indexes other than its primary key."""
    cursor.execute("SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                   "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary "
                   "ORDER BY c.relname", [table])
    return cursor.fetchall()


def convert_to_partitioned(connection, now=None, months_ahead=None):
    """Replace the plain events table by a partitioned one holding the same rows, indexes and id sequence.

    One transaction (the migration's): the old table is locked, renamed, copied month by month into the new
    partitions (``INSERT … SELECT`` of one month at a time, each straight into its partition), then dropped."""
    if connection.vendor != "postgresql" or is_partitioned(connection):
        return
    now = now or timezone.now()
    old = f"{EVENTS}_unpartitioned"
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {_quote(EVENTS)} IN ACCESS EXCLUSIVE MODE")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [EVENTS])
        old_sequence = cursor.fetchone()[0]
        last_id = 0
        if old_sequence:
            cursor.execute(f"SELECT last_value, is_called FROM {old_sequence}")  # noqa: S608 - from the catalogue
            value, called = cursor.fetchone()
            last_id = value if called else value - 1
        cursor.execute(f"SELECT max(id), min(created_at) FROM {_quote(EVENTS)}")  # noqa: S608
        max_id, first_at = cursor.fetchone()
        last_id = max(last_id, max_id or 0)
        indexes = _index_definitions(cursor, EVENTS)

        cursor.execute(f"ALTER TABLE {_quote(EVENTS)} RENAME TO {_quote(old)}")
        cursor.execute(f"CREATE TABLE {_quote(EVENTS)} (LIKE {_quote(old)} INCLUDING DEFAULTS) "
                       "PARTITION BY RANGE (created_at)")
        cursor.execute(f"CREATE SEQUENCE {_quote(SEQUENCE + '_new')} OWNED BY {_quote(EVENTS)}.id")
        cursor.execute(f"ALTER TABLE {_quote(EVENTS)} ALTER COLUMN id SET DEFAULT "
                       f"nextval('{SEQUENCE}_new'::regclass)")
        if last_id > 0:
            cursor.execute("SELECT setval(%s::regclass, %s, true)", [SEQUENCE + "_new", last_id])

        since = first_at if first_at is not None and first_at < now else now
        ensure_partitions(now=now, months_ahead=months_ahead, since=since, connection=connection)
        months = [p for p in partitions(connection) if not p.is_default]
        for partition in months:  # one month at a time, straight into its partition
            cursor.execute(f"INSERT INTO {_quote(partition.name)} SELECT * FROM {_quote(old)} "  # noqa: S608
                           "WHERE created_at >= %s AND created_at < %s", [partition.start, partition.end])
        # Rows after the last month created (dated in the future) go to the DEFAULT partition through the parent.
        cursor.execute(f"INSERT INTO {_quote(EVENTS)} SELECT * FROM {_quote(old)} "  # noqa: S608
                       "WHERE created_at < %s OR created_at >= %s", [months[0].start, months[-1].end])
        cursor.execute(f"DROP TABLE {_quote(old)}")  # its indexes, its identity sequence
        cursor.execute(f"ALTER SEQUENCE {_quote(SEQUENCE + '_new')} RENAME TO {_quote(SEQUENCE)}")
        cursor.execute(f"ALTER TABLE {_quote(EVENTS)} ADD CONSTRAINT {_quote(EVENTS + '_pkey')} "
                       "PRIMARY KEY (id, created_at)")
        for _name, definition in indexes:  # the same statements: the new table has the old one's name
            cursor.execute(definition)
        cursor.execute(f"ANALYZE {_quote(EVENTS)}")


def convert_to_plain(connection):
    """Migration 0018 backwards: a plain table again, same rows, indexes and sequence, primary key ``id``."""
    if connection.vendor != "postgresql" or not is_partitioned(connection):
        return
    new = f"{EVENTS}_plain"
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {_quote(EVENTS)} IN ACCESS EXCLUSIVE MODE")
        indexes = _index_definitions(cursor, EVENTS)
        cursor.execute(f"CREATE TABLE {_quote(new)} (LIKE {_quote(EVENTS)} INCLUDING DEFAULTS)")
        cursor.execute(f"INSERT INTO {_quote(new)} SELECT * FROM {_quote(EVENTS)}")  # noqa: S608
        cursor.execute(f"ALTER SEQUENCE {_quote(SEQUENCE)} OWNED BY NONE")
        cursor.execute(f"DROP TABLE {_quote(EVENTS)}")  # and every partition
        cursor.execute(f"ALTER TABLE {_quote(new)} RENAME TO {_quote(EVENTS)}")
        cursor.execute(f"ALTER SEQUENCE {_quote(SEQUENCE)} OWNED BY {_quote(EVENTS)}.id")
        cursor.execute(f"ALTER TABLE {_quote(EVENTS)} ADD CONSTRAINT {_quote(EVENTS + '_pkey')} PRIMARY KEY (id)")
        for _name, definition in indexes:
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
        cursor.execute(f"ANALYZE {_quote(EVENTS)}")
