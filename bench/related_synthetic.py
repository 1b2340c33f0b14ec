"""A synthetic order history N times the Complete Journey, for the related engine at scale (bench/related_rebuild.py).

Drawn from the real data (``shop.demo.loader.prepare("full")``: the demo's cleaned catalogue and baskets), seeded, so
the same seed and scale always give the same shop:

- **Products**: every real product becomes ``variants`` products (other brands or sizes of the same thing), in the
  real product's category, with its title (plus the variant's brand) and price (±25 %).  A variant's share of the
  real product's sales falls off like 1/rank (Zipf-like), so the popularity curve keeps its long tail.
- **Baskets**: each synthetic basket is a copy of a real basket (each real basket used ``scale`` times, or a seeded
  sample of them below 1), so the basket size distribution and the co-purchase structure (which departments and
  categories go together) are the real ones.  Its time is the real basket's, moved by up to ±3 days.
- **Lines**: each real line's product is replaced by one of its variants.  A basket has a "taste" (one variant
  number, standing for a household's preferred brands): with probability ``taste`` the line takes that variant,
  otherwise one by the variants' shares; with probability ``substitute`` the line takes another product of the same
  category instead (by popularity).  So pairs bought together in the real data stay pairs of related variants, and
  neighbours are meaningful (same categories, same kind of basket), not random.

Written straight into PostgreSQL with binary ``COPY`` (products, categories links, stock records, orders, lines: no
ORM object per row), foreign-key triggers off for the load (the ids are consistent by construction), then ``ANALYZE``.
Nothing is cached on disk: generating 10x takes a few minutes on 2 cores.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

import numpy as np

PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds: PostgreSQL's binary timestamps count from it
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
BRANDS = ("", "Select", "Harvest", "Meadow", "Sunny", "Golden", "Prairie", "Valley", "Coastal", "Summit", "Orchard",
          "Maple", "Cedar", "River", "Hilltop", "Northern")


@dataclass
class Synthetic:
    """The generated shop, as arrays.  Products are numbered 1..n (``product_*`` arrays, index = id - 1), orders
    1..m (``order_*``); ``line_order``/``line_product`` hold those ids."""

    product_title: list
    product_category: np.ndarray  # category code of ``categories`` (index)
    product_cents: np.ndarray
    product_in_stock: np.ndarray
    categories: list  # (department, category or None): the loader's categories
    order_time_us: np.ndarray  # Unix microseconds
    line_order: np.ndarray
    line_product: np.ndarray
    line_quantity: np.ndarray
    line_cents: np.ndarray

    @property
    def n_products(self):
        return len(self.product_cents)

    @property
    def n_orders(self):
        return len(self.order_time_us)

    @property
    def n_lines(self):
        return len(self.line_order)


def synthesize(scale: float = 10.0, *, variants: int | None = None, seed: int = 0, taste: float = 0.5,
               substitute: float = 0.15, data=None) -> Synthetic:
    """The synthetic shop (see the module docstring).  ``data``: a ``DemoData`` (default: ``prepare("full")``)."""
    if data is None:
        from shop.demo.loader import prepare

        data = prepare("full")
    rng = np.random.default_rng(seed)
    variants = max(1, round(scale)) if variants is None else int(variants)

    # Real baskets and lines as codes.
    baskets, lines, products = data.baskets, data.lines, data.products
    real_product_ids = products.index.to_numpy()
    basket_ids = baskets["basket_id"].to_numpy()
    basket_us = baskets["timestamp"].to_numpy().astype("datetime64[us]").astype(np.int64)
    line_basket = np.searchsorted(basket_ids, lines["basket_id"].to_numpy(), sorter=np.argsort(basket_ids))
    line_basket = np.argsort(basket_ids)[line_basket]
    line_real = np.searchsorted(real_product_ids, lines["product_id"].to_numpy())
    line_quantity = lines["quantity"].to_numpy().astype(np.int64)
    line_cents = lines["cents"].to_numpy().astype(np.int64)
    by_basket = np.argsort(line_basket, kind="stable")
    line_basket, line_real = line_basket[by_basket], line_real[by_basket]
    line_quantity, line_cents = line_quantity[by_basket], line_cents[by_basket]
    basket_start = np.searchsorted(line_basket, np.arange(len(basket_ids) + 1))

    # Templates: which real basket each synthetic basket copies.
    n_real = len(basket_ids)
    whole, part = int(scale), scale - int(scale)
    templates = np.tile(np.arange(n_real), whole)
    if part > 0:
        templates = np.r_[templates, np.sort(rng.choice(n_real, round(part * n_real), replace=False))]
    jitter = rng.integers(-3 * 86400, 3 * 86400, len(templates)) * 1_000_000
    order_us = basket_us[templates] + jitter
    chronological = np.argsort(order_us, kind="stable")  # order ids in time order, as a shop numbers them
    templates, order_us = templates[chronological], order_us[chronological]
    n_orders = len(templates)

    # Lines of each synthetic basket: its template's lines.
    size = basket_start[templates + 1] - basket_start[templates]
    line_order = np.repeat(np.arange(n_orders, dtype=np.int64), size)
    offset = np.arange(len(line_order)) - np.repeat(np.cumsum(size) - size, size)
    source = np.repeat(basket_start[templates], size) + offset
    real = line_real[source]

    # Variants: shares ~ 1/rank; the basket's taste; substitutes within the category.
    share = 1.0 / np.arange(1, variants + 1)
    share /= share.sum()
    basket_taste = rng.integers(0, variants, n_orders)
    chosen = np.searchsorted(np.cumsum(share), rng.random(len(real)), side="right").clip(0, variants - 1)
    tasteful = rng.random(len(real)) < taste
    chosen = np.where(tasteful, basket_taste[line_order], chosen)
    synthetic = real * variants + chosen

    # Products: only the real products some template uses (all of them from scale 1 on), each in ``variants``.
    used = np.unique(real)
    n_real_products = len(real_product_ids)
    department = products["department"].to_numpy()
    category = np.array([c if isinstance(c, str) and c else None for c in products["category"]], dtype=object)
    categories = sorted({(d, None) for d in department} | {(d, c) for d, c in zip(department, category, strict=True)
                                                           if c is not None}, key=lambda dc: (dc[0], dc[1] or ""))
    category_index = {key: i for i, key in enumerate(categories)}
    real_category = np.array([category_index[(d, c)] for d, c in zip(department, category, strict=True)])
    popularity = products["baskets"].to_numpy().astype(np.float64)
    all_synthetic = (np.arange(n_real_products)[:, None] * variants + np.arange(variants)[None, :]).ravel()
    synthetic_category = np.repeat(real_category, variants)
    synthetic_weight = (popularity[:, None] * share[None, :]).ravel()
    keep_real = np.zeros(n_real_products, dtype=bool)
    keep_real[used] = True
    catalogue_mask = np.repeat(keep_real, variants)

    substituted = rng.random(len(real)) < substitute
    if substituted.any():
        # Within each category, a product drawn by popularity: one searchsorted over category-offset cumulative weights.
        candidates = all_synthetic[catalogue_mask]
        cat = synthetic_category[candidates]
        order = np.lexsort((candidates, cat))
        candidates, cat = candidates[order], cat[order]
        weight = synthetic_weight[candidates]
        cat_total = np.bincount(cat, weights=weight, minlength=len(categories))
        cumulative = np.cumsum(weight) - np.repeat(np.r_[0.0, np.cumsum(cat_total)[:-1]], np.bincount(
            cat, minlength=len(categories)))
        key = cat + cumulative / np.where(cat_total[cat] > 0, cat_total[cat], 1.0)
        wanted_cat = synthetic_category[synthetic[substituted]]
        u = rng.random(int(substituted.sum())) * (1 - 1e-12)
        pick = np.searchsorted(key, wanted_cat + u, side="right").clip(0, len(candidates) - 1)
        synthetic[substituted] = candidates[pick]

    # One line per (order, product), as the loader does (a substitute may repeat a product of the basket).
    key = line_order * (n_real_products * variants) + synthetic
    first = np.argsort(key, kind="stable")
    key = key[first]
    first = first[np.r_[True, key[1:] != key[:-1]]]
    line_order, synthetic = line_order[first], synthetic[first]
    source = source[first]

    # Renumber products 1..n over the catalogue (ids in (real product, variant) order).
    catalogue = all_synthetic[catalogue_mask]
    new_id = np.zeros(n_real_products * variants, dtype=np.int64)
    new_id[catalogue] = np.arange(1, len(catalogue) + 1)
    real_of = catalogue // variants
    variant_of = catalogue % variants
    titles = products["title"].to_numpy()
    product_title = [
        titles[r] if v == 0 else f"{BRANDS[v % len(BRANDS)] or 'Brand'} {v // len(BRANDS) or ''} {titles[r]}".replace(
            "  ", " ")
        for r, v in zip(real_of.tolist(), variant_of.tolist(), strict=True)
    ]
    base_cents = products["price_cents"].to_numpy()[real_of]
    factor = np.where(variant_of == 0, 1.0, rng.uniform(0.75, 1.25, len(catalogue)))
    product_cents = np.maximum(np.rint(base_cents * factor), 1).astype(np.int64)
    in_stock = products["in_stock"].to_numpy()[real_of] & (rng.random(len(catalogue)) >= 0.01)
    return Synthetic(
        product_title=product_title,
        product_category=real_category[real_of],
        product_cents=product_cents,
        product_in_stock=in_stock,
        categories=categories,
        order_time_us=order_us,
        line_order=line_order + 1,
        line_product=new_id[synthetic],
        line_quantity=line_quantity[source],
        line_cents=line_cents[source],
    )


# -- Binary COPY ------------------------------------------------------------------------------------------------


def numeric_cents(cents):
    """numeric(…, 2) values from integer cents, in PostgreSQL's binary layout (3 base-10000 digits: < 10^8)."""
    cents = np.asarray(cents, dtype=np.int64)
    units = cents // 100
    return np.stack([np.full(len(cents), 3), np.ones(len(cents)), np.zeros(len(cents)), np.full(len(cents), 2),
                     units // 10000, units % 10000, (cents % 100) * 100], axis=1).astype(">i2")


def copy_binary(cursor, table, columns):
    """COPY ``columns`` ({name: array or scalar}) into ``table`` in PostgreSQL's binary format; one structured numpy
    array, no Python object per row.  Every NOT NULL column without a default that is not given gets a neutral value
    (empty text, 0, false, the first given time) so the generator does not depend on the exact Oscar schema."""
    schema = _neutral_columns(cursor, table, columns)
    n = max(len(v) for v in columns.values() if isinstance(v, np.ndarray))
    fields, values = [("n", ">i2")], {}
    for name, value in columns.items():
        kind = schema[name][0]
        if kind == "numeric":
            array = numeric_cents(np.broadcast_to(np.asarray(value), (n,)))
            fields += [(f"len_{name}", ">i4"), (name, ">i2", (7,))]
            values[name] = array
            continue
        if kind in ("character varying", "text"):
            encoded = np.asarray(value).astype("S") if isinstance(value, np.ndarray) else np.bytes_(str(value).encode())
            dtype = f"S{max(encoded.dtype.itemsize, 1)}" if encoded.size else "S1"
            if isinstance(value, np.ndarray):
                widths = np.char.str_len(encoded)
                if len(widths) and (widths != widths[0]).any():
                    raise ValueError(f"{table}.{name}: text columns must have one width (pad them)")
                dtype = f"S{int(widths[0]) if len(widths) else 1}"
            elif len(encoded) == 0:
                fields += [(f"len_{name}", ">i4")]
                values[f"len_{name}"] = 0
                continue
            fields += [(f"len_{name}", ">i4"), (name, dtype)]
            values[name] = encoded
            continue
        dtype = {"integer": ">i4", "bigint": ">i8", "smallint": ">i2", "boolean": "?", "double precision": ">f8",
                 "timestamp with time zone": ">i8", "date": ">i4"}[kind]
        if kind == "timestamp with time zone":
            value = np.asarray(value, dtype=np.int64) - PG_EPOCH_US
        fields += [(f"len_{name}", ">i4"), (name, dtype)]
        values[name] = value
    rows = np.zeros(n, dtype=np.dtype(fields))
    rows["n"] = len(columns)
    for name, _dtype, *_ in fields[1:]:
        if name.startswith("len_"):
            column = name[4:]
            rows[name] = values[name] if name in values else rows.dtype[column].itemsize
        else:
            rows[name] = values[name]
    names = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN (FORMAT binary)') as copy:
        copy.write(HEADER)
        step = 1_000_000
        for start in range(0, n, step):
            copy.write(rows[start:start + step].tobytes())
        copy.write(TRAILER)
    return n


def _neutral_columns(cursor, table, columns, text=False):
    """Add a neutral value for every NOT NULL column without a default that ``columns`` lacks; return the types."""
    cursor.execute("SELECT column_name, data_type, is_nullable = 'YES', column_default IS NOT NULL OR is_identity = "
                   "'YES' FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s",
                   [table])
    schema = {name: (kind, nullable, default) for name, kind, nullable, default in cursor.fetchall()}
    for name, (kind, nullable, default) in schema.items():
        if name in columns or nullable or default:
            continue
        if kind == "boolean":
            value = "f" if text else False
        elif kind == "timestamp with time zone":
            value = "1970-01-01 00:00:00+00" if text else PG_EPOCH_US
        elif kind in ("integer", "bigint", "smallint", "double precision", "numeric"):
            value = 0
        else:
            value = ""
        columns[name] = value
    return schema


def copy_text(cursor, table, columns):
    """COPY in text format (for variable-width text); scalars are repeated; values must not need escaping."""
    _neutral_columns(cursor, table, columns, text=True)
    n = max(len(v) for v in columns.values() if isinstance(v, (list, np.ndarray)))
    series = [v.tolist() if isinstance(v, np.ndarray) else v if isinstance(v, list) else [str(v)] * n
              for v in columns.values()]
    names = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for start in range(0, n, 50_000):
            copy.write("".join("\t".join(map(str, row)) + "\n"
                               for row in zip(*(c[start:start + 50_000] for c in series), strict=True)))
    return n


def write(syn: Synthetic, *, progress=print):
    """Write ``syn`` into the (empty, migrated) database of this process's Django connection."""
    from django.db import connection
    from oscar.core.loading import get_model

    from shop.demo import loader

    Category = get_model("catalogue", "Category")
    ProductClass = get_model("catalogue", "ProductClass")
    Partner = get_model("partner", "Partner")
    product_class = ProductClass.objects.create(name=loader.PRODUCT_CLASS_NAME, requires_shipping=True,
                                                track_stock=True)
    partner = Partner.objects.create(name=loader.PARTNER_NAME)
    category_ids = []
    created = {}
    for department, category in syn.categories:  # sorted: a department comes before its categories
        parent = None if category is None else created[(department, None)]
        name = loader.department_name(department) if category is None else loader.humanize(category)
        node = loader._add_category(Category, parent, name=name, code=loader.category_code(department, category))
        created[(department, category)] = node
        category_ids.append(node.pk)
    category_ids = np.asarray(category_ids, dtype=np.int64)

    n_products = syn.n_products
    product_ids = np.arange(1, n_products + 1, dtype=np.int64)
    now_us = int(syn.order_time_us.max())
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers: ids are consistent by construction
        started = time.perf_counter()
        # Titles differ in length: products go through text COPY (well under a second per 100k rows).
        titles = [t.replace("\\", " ").replace("\t", " ").replace("\n", " ")[:255] for t in syn.product_title]
        copy_text(cursor, "catalogue_product", {
            "id": product_ids, "structure": "standalone", "upc": product_ids, "title": titles,
            "slug": [f"p-{pid}" for pid in product_ids.tolist()], "date_created": "1970-01-01 00:00:00+00",
            "date_updated": "1970-01-01 00:00:00+00", "is_discountable": "t", "is_public": "t",
            "product_class_id": product_class.pk})
        copy_binary(cursor, "catalogue_productcategory", {
            "id": product_ids, "product_id": product_ids, "category_id": category_ids[syn.product_category]})
        skus = np.char.zfill(product_ids.astype("S"), 9)
        stock = {"id": product_ids, "product_id": product_ids, "partner_id": partner.pk, "partner_sku": skus,
                 "price_currency": loader.CURRENCY, "num_in_stock": np.where(syn.product_in_stock, loader.IN_STOCK, 0),
                 "num_allocated": 0, "date_created": now_us, "date_updated": now_us}
        price_column = "price" if _has_column(cursor, "partner_stockrecord", "price") else "price_excl_tax"
        stock[price_column] = syn.product_cents
        copy_binary(cursor, "partner_stockrecord", stock)
        progress(f"  products, categories, stock: {n_products:,} in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        order_ids = np.arange(1, syn.n_orders + 1, dtype=np.int64)
        order_cents = np.bincount(syn.line_order, weights=syn.line_cents, minlength=syn.n_orders + 1)[1:]
        copy_binary(cursor, "order_order", {
            "id": order_ids, "number": np.char.add(b"S", np.char.zfill(order_ids.astype("S"), 9)),
            "currency": loader.CURRENCY, "total_incl_tax": order_cents.astype(np.int64),
            "total_excl_tax": order_cents.astype(np.int64), "shipping_incl_tax": 0, "shipping_excl_tax": 0,
            "status": loader.ORDER_STATUS, "guest_email": "synthetic@example.com", "date_placed": syn.order_time_us})
        progress(f"  orders: {syn.n_orders:,} in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        step = 2_000_000
        for start in range(0, syn.n_lines, step):
            part = slice(start, min(start + step, syn.n_lines))
            product = syn.line_product[part]
            cents = syn.line_cents[part]
            copy_binary(cursor, "order_line", {
                "id": np.arange(part.start + 1, part.stop + 1, dtype=np.int64), "order_id": syn.line_order[part],
                "product_id": product, "stockrecord_id": product, "partner_id": partner.pk,
                "partner_name": loader.PARTNER_NAME, "partner_sku": skus[product - 1], "title": "Synthetic line",
                "quantity": syn.line_quantity[part], "line_price_incl_tax": cents, "line_price_excl_tax": cents,
                "line_price_before_discounts_incl_tax": cents, "line_price_before_discounts_excl_tax": cents,
                "unit_price_incl_tax": cents // np.maximum(syn.line_quantity[part], 1),
                "status": loader.ORDER_STATUS})
            progress(f"  lines: {part.stop:,} of {syn.n_lines:,} ({time.perf_counter() - started:.0f} s)")
        cursor.execute("SET session_replication_role = DEFAULT")
        for table in ("catalogue_product", "catalogue_productcategory", "partner_stockrecord", "order_order",
                      "order_line"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
        started = time.perf_counter()
        for table in ("catalogue_product", "catalogue_productcategory", "partner_stockrecord", "order_order",
                      "order_line"):
            cursor.execute(f"ANALYZE {table}")
        progress(f"  ANALYZE: {time.perf_counter() - started:.1f} s")
    connection.connection.commit() if not connection.get_autocommit() else None


def _has_column(cursor, table, column):
    cursor.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s "
                   "AND column_name = %s", [table, column])
    return cursor.fetchone() is not None


MARKER = "bench_synthetic_history"  # a table saying what was generated into a database (the bench reuses it)


def generated(cursor):
    """(scale, seed, lines) generated into the connected database, or None."""
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [MARKER])
    if not cursor.fetchone()[0]:
        return None
    cursor.execute(f"SELECT scale, seed, lines FROM {MARKER}")  # noqa: S608
    return cursor.fetchone()


def main():
    """``python -m bench.related_synthetic --scale 10 --seed 0``: generate into DATABASE_URL (a fresh, migrated
    PostgreSQL database), print one JSON line with the figures."""
    import argparse
    import json
    import os
    import resource

    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args, _unknown = parser.parse_known_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        if generated(cursor):
            raise SystemExit("this database already holds a synthetic history")
    syn = synthesize(args.scale, seed=args.seed)
    synthesize_s = time.perf_counter() - started
    write(syn)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {MARKER} (scale float8, seed int, lines int8)")
        cursor.execute(f"INSERT INTO {MARKER} VALUES (%s, %s, %s)", [args.scale, args.seed, syn.n_lines])  # noqa: S608
    print(json.dumps({"synthesize": synthesize_s, "total": time.perf_counter() - started, "lines": syn.n_lines,
                      "orders": syn.n_orders, "products": syn.n_products,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
