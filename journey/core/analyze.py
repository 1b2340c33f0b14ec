"""``analyze_after_bulk_write``: ANALYZE what a bulk writer wrote (PostgreSQL): plans never wait for autovacuum.

PostgreSQL plans a query from each table's statistics (``pg_class.reltuples``, ``pg_statistic``).  A table filled by
COPY or a large INSERT keeps the statistics it had before -- none at all for a new table -- until autovacuum's
analyser passes, which may be late or switched off.  On such stale statistics the planner may walk a whole index for
a query that should read three rows (the related-products list took 97 ms instead of 1.5 ms right after the demo was
loaded).  Every bulk writer (``load_demo``, the related rebuild, the profile importer, bulk scheduling of mails, bulk
voucher issuing) therefore calls this helper on the tables it wrote.

``ANALYZE`` samples at most 30,000 rows per table (``default_statistics_target`` 100), so it costs tens of
milliseconds whatever the table's size; it takes a lock that does not block reads or writes, and runs inside the
caller's transaction.  Small writes (fewer than ``min_rows``) skip it: they do not change a plan.
SQLite and other databases: nothing (SQLite's planner does not need it for these queries).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

#: Below this many rows written, a write does not call for ANALYZE.
MIN_ROWS = 1000


def _table(item):
    meta = getattr(item, "_meta", None)
    return meta.db_table if meta is not None else str(item)


def analyze_after_bulk_write(*tables, rows=None, min_rows=MIN_ROWS, using=DEFAULT_DB_ALIAS):
    """ANALYZE ``tables`` (models or table names) on PostgreSQL, unless ``rows`` (how many were written, when the
    caller knows) is below ``min_rows``.  Returns the tables analysed."""
    connection = connections[using]
    if connection.vendor != "postgresql" or (rows is not None and rows < min_rows):
        return []
    names = list(dict.fromkeys(_table(t) for t in tables))
    if names:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(name) for name in names))
    return names
