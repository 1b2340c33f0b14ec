"""Bulk reads and writes for the related-products rebuild.

On PostgreSQL, order lines are streamed in chunks of whole orders, each chunk one ``bytea`` of fixed-width int8 pairs
built by the server (``string_agg(int8send(…) || int8send(…))``) that numpy parses without a Python loop, and the
lists are written with one binary ``COPY … FROM STDIN``; elsewhere (SQLite, the embedded default) plain cursors do
the same, slower.
"""

from __future__ import annotations

import struct

import numpy as np
from django.db import connection
from oscar.core.loading import get_model

from ..core.analyze import analyze_after_bulk_write

Line = get_model("order", "Line")
Order = get_model("order", "Order")

PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)


def read_order_lines(*, since=None, until=None, streamed=None):
    """(order_ids, product_ids, epoch_seconds) as int64 arrays, one entry per order line of the orders placed in
    [since, until).  ``streamed`` (default: on PostgreSQL) reads in chunks of whole orders, each chunk one bytea
    value that numpy parses (no Python object per line); otherwise the ORM reads row by row (SQLite)."""
    if streamed is None:
        streamed = connection.vendor == "postgresql"
    if streamed:
        return _read_streamed(since, until)
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


#: Orders per query of the streamed read (about ten lines each in a grocery shop: a few MB per chunk).
CHUNK_ORDERS = 100_000
_PAIR = np.dtype([("a", ">i8"), ("b", ">i8")])


def _aggregated(cursor, sql, params):
    """Run ``sql`` (one ``string_agg`` of ``int8send(a) || int8send(b)`` per row) and parse the bytes."""
    cursor.execute(sql, params)
    raw = cursor.fetchone()[0]
    if not raw:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pairs = np.frombuffer(raw, dtype=_PAIR)
    return pairs["a"].astype(np.int64), pairs["b"].astype(np.int64)


def _read_streamed(since, until):
    """PostgreSQL: the window's orders (id, epoch) first, then their lines in chunks of ``CHUNK_ORDERS`` orders by
    the order id index, each chunk aggregated by the server into one bytea (``COPY`` would send a message per line,
    which the client would turn into a Python object each).  Lines of orders outside the window that fall inside a
    chunk's id range are dropped here."""
    order_table = connection.ops.quote_name(Order._meta.db_table)
    line_table = connection.ops.quote_name(Line._meta.db_table)
    where, params = ["TRUE"], []
    if since is not None:
        where.append("date_placed >= %s")
        params.append(since)
    if until is not None:
        where.append("date_placed < %s")
        params.append(until)
    empty = (np.empty(0, np.int64),) * 3
    with connection.cursor() as cursor:
        # floor(), not a plain cast (which rounds): the newest order's second must not land after the engine's "now".
        cursor.execute(
            f"SELECT string_agg(int8send(id::int8) || int8send(floor(extract(epoch FROM date_placed))::int8), "  # noqa: S608
            f"''::bytea) FROM {order_table} WHERE {' AND '.join(where)}", params)
        raw = cursor.fetchone()[0]
        if not raw:
            return empty
        pairs = np.frombuffer(raw, dtype=_PAIR)
        order_ids, order_epochs = pairs["a"].astype(np.int64), pairs["b"].astype(np.int64)
        del raw, pairs
        by_id = np.argsort(order_ids, kind="stable")
        order_ids, order_epochs = order_ids[by_id], order_epochs[by_id]
        del by_id
        line_orders, line_products = [], []
        for start in range(0, len(order_ids), CHUNK_ORDERS):
            low, high = int(order_ids[start]), int(order_ids[min(start + CHUNK_ORDERS, len(order_ids)) - 1])
            orders, products = _aggregated(
                cursor,
                f"SELECT string_agg(int8send(order_id::int8) || int8send(product_id::int8), ''::bytea) "  # noqa: S608
                f"FROM {line_table} WHERE order_id BETWEEN %s AND %s AND product_id IS NOT NULL",
                [low, high])
            line_orders.append(orders)
            line_products.append(products)
    line_orders = np.concatenate(line_orders)
    line_products = np.concatenate(line_products)
    position = np.searchsorted(order_ids, line_orders).clip(0, len(order_ids) - 1)
    inside = order_ids[position] == line_orders
    if not inside.all():
        line_orders, line_products, position = line_orders[inside], line_products[inside], position[inside]
    return line_orders, line_products, order_epochs[position]


WRITE_CHUNK = 500_000  # rows per piece of the binary COPY
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
    dtype = np.dtype(fields)
    table = connection.ops.quote_name(model._meta.db_table)
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(
        f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT binary)"
    ) as copy:
        copy.write(PG_HEADER)
        for start in range(0, n, WRITE_CHUNK):  # in chunks: the rows' bytes never exist all at once
            stop = min(start + WRITE_CHUNK, n)
            rows = np.zeros(stop - start, dtype=dtype)
            rows["n"] = len(COLUMNS)
            for column in COLUMNS:
                rows[f"len_{column}"] = dtype[column].itemsize
                value = values[column]
                rows[column] = value[start:stop] if isinstance(value, np.ndarray) else value
            copy.write(rows.tobytes())
        copy.write(struct.pack(">h", -1))
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
