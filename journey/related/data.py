"""Bulk reads and writes for the related-products rebuild.

On PostgreSQL, order lines are read with one ``COPY … TO STDOUT (FORMAT binary)`` of fixed-width int8 columns that
numpy parses without a Python loop, and the lists are written with one binary ``COPY … FROM STDIN``; elsewhere
(SQLite, the embedded default) plain cursors do the same, slower.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from django.db import connection
from oscar.core.loading import get_model

from ..core.analyze import analyze_after_bulk_write

Line = get_model("order", "Line")
Order = get_model("order", "Order")

PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)


def _order_lines_sql(since, until):
    line_table, order_table = Line._meta.db_table, Order._meta.db_table
    where, params = ["l.product_id IS NOT NULL"], []
    if since is not None:
        where.append("o.date_placed >= %s")
        params.append(since)
    if until is not None:
        where.append("o.date_placed < %s")
        params.append(until)
    # floor(), not a plain cast (which rounds): the newest order's second must not land after the engine's "now".
    sql = (
        f"SELECT l.order_id::int8, l.product_id::int8, floor(extract(epoch FROM o.date_placed))::int8 "  # noqa: S608
        f"FROM {connection.ops.quote_name(line_table)} l "
        f"JOIN {connection.ops.quote_name(order_table)} o ON o.id = l.order_id WHERE {' AND '.join(where)}"
    )
    return sql, params


def read_order_lines(*, since=None, until=None):
    """(order_ids, product_ids, epoch_seconds) as int64 arrays, one entry per order line."""
    if connection.vendor == "postgresql":
        return _read_pg(since, until)
    qs = Line.objects.filter(product_id__isnull=False)
    if since is not None:
        qs = qs.filter(order__date_placed__gte=since)
    if until is not None:
        qs = qs.filter(order__date_placed__lt=until)
    rows = list(qs.values_list("order_id", "product_id", "order__date_placed").iterator(chunk_size=20000))
    if not rows:
        return (np.empty(0, np.int64),) * 3
    orders = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    products = np.fromiter((r[1] for r in rows), np.int64, len(rows))
    epochs = np.fromiter((int(r[2].timestamp()) for r in rows), np.int64, len(rows))
    return orders, products, epochs


ROW = np.dtype([("n", ">i2"), ("l1", ">i4"), ("order", ">i8"), ("l2", ">i4"), ("product", ">i8"), ("l3", ">i4"),
                ("epoch", ">i8")])


def _read_pg(since, until):
    sql, params = _order_lines_sql(since, until)
    connection.ensure_connection()
    buffer = io.BytesIO()
    with connection.connection.cursor() as cursor:
        query = cursor.mogrify(sql, params) if params else sql
        with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy:
            for chunk in copy:
                buffer.write(chunk)
    raw = buffer.getbuffer()
    body = raw[len(PG_HEADER):len(raw) - 2]  # header, then rows, then the int16 -1 trailer
    rows = np.frombuffer(body, dtype=ROW)
    return (rows["order"].astype(np.int64), rows["product"].astype(np.int64), rows["epoch"].astype(np.int64))


COLUMNS = ("build_id", "product_id", "related_id", "kind", "rank", "score", "evidence", "source")
PG_TYPES = {"bigint": ">i8", "integer": ">i4", "smallint": ">i2", "double precision": ">f8"}


def write_entries(model, build_id, products, related, kinds, ranks, scores, evidence, sources):
    """Insert list entries (parallel arrays) for ``build_id``: one binary COPY on PostgreSQL."""
    n = len(products)
    if not n:
        return 0
    values = dict(zip(COLUMNS, (build_id, products, related, kinds, ranks, scores, evidence, sources), strict=True))
    if connection.vendor != "postgresql":
        columns = zip(products, related, kinds, ranks, scores, evidence, sources, strict=True)
        model.objects.bulk_create(
            [model(build_id=build_id, product_id=int(p), related_id=int(r), kind=int(k), rank=int(rk),
                   score=float(sc), evidence=int(e), source=int(src)) for p, r, k, rk, sc, e, src in columns],
            batch_size=5000,
        )
        return n
    # Binary COPY: each row is a field count, then (length, big-endian value) per column, in the columns' own types
    # (product ids are int4 in Oscar's default schema, int8 where a shop uses BigAutoField).
    types = _column_types(model)
    fields = [("n", ">i2")]
    for column in COLUMNS:
        fields += [(f"len_{column}", ">i4"), (column, PG_TYPES[types[column]])]
    rows = np.zeros(n, dtype=np.dtype(fields))
    rows["n"] = len(COLUMNS)
    for column in COLUMNS:
        rows[f"len_{column}"] = rows.dtype[column].itemsize
        rows[column] = values[column]
    payload = PG_HEADER + rows.tobytes() + struct.pack(">h", -1)
    table = connection.ops.quote_name(model._meta.db_table)
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(
        f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT binary)"
    ) as copy:
        copy.write(payload)
    return n


def analyse(model):
    """ANALYZE the table a bulk write filled (PostgreSQL), so the pages' query plans do not wait for autovacuum."""
    analyze_after_bulk_write(model)


def _column_types(model):
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s",
                       [model._meta.db_table])
        types = dict(cursor.fetchall())
    unknown = {c: types.get(c) for c in COLUMNS if types.get(c) not in PG_TYPES}
    if unknown:
        raise RuntimeError(f"unexpected column types in {model._meta.db_table}: {unknown}")
    return types
