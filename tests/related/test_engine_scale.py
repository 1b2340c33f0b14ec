"""The related engine at scale: the streamed read (PostgreSQL) gives the same lines and the same lists as the plain
ORM read; the synthetic history of bench/related_rebuild.py --scale is reproducible and is written right."""

import random
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import create_order, create_product

from bench import related_synthetic
from journey.related import data, services
from journey.related.models import RelatedBuild, RelatedProduct
from journey.test.factories import basket_with
from tests.race import on_postgresql

pytestmark = pytest.mark.django_db
Line = get_model("order", "Line")


@pytest.fixture
def history():
    """A seeded random order history: 14 products, 40 orders of 1-5 products, a few older than a year, one line
    whose product was deleted (product_id NULL)."""
    rng = random.Random(17)
    products = [create_product(title=f"Product {i}", price=Decimal("1.50"), num_in_stock=10) for i in range(14)]
    weights = [1 / (i + 1) for i in range(len(products))]  # a few best sellers, a long tail
    orders = []
    for n in range(40):
        basket = set(rng.choices(products, weights=weights, k=rng.randint(1, 5)))
        order = create_order(basket=basket_with(sorted(basket, key=lambda p: p.pk)))
        order.date_placed = timezone.now() - timedelta(days=400 if n % 9 == 0 else rng.randint(1, 300),
                                                       seconds=rng.randint(0, 86399))
        order.save()
        orders.append(order)
    Line.objects.filter(pk=orders[3].lines.first().pk).update(product=None)
    return products


def sorted_lines(lines):
    order_ids, product_ids, epochs = lines
    key = np.lexsort((epochs, product_ids, order_ids))
    return order_ids[key].tolist(), product_ids[key].tolist(), epochs[key].tolist()


def paths():
    return [False, True] if connection.vendor == "postgresql" else [False]


def test_sqlite_uses_the_simple_read_and_postgresql_the_streamed_one(history, monkeypatch):
    called = []
    monkeypatch.setattr(data, "_read_streamed", lambda since, until: called.append(1) or (np.empty(0, np.int64),) * 3)
    data.read_order_lines()
    assert called == ([1] if connection.vendor == "postgresql" else [])


@on_postgresql
@pytest.mark.parametrize("chunk", [1, 7, 100_000])
def test_the_streamed_read_returns_the_same_lines_as_the_orm(history, monkeypatch, chunk):
    monkeypatch.setattr(data, "CHUNK_ORDERS", chunk)  # chunk ranges that hold orders outside the window too
    now = timezone.now()
    for since, until in [(None, None), (now - timedelta(days=365), None), (now - timedelta(days=200),
                                                                              now - timedelta(days=20))]:
        simple = sorted_lines(data.read_order_lines(since=since, until=until, streamed=False))
        streamed = sorted_lines(data.read_order_lines(since=since, until=until, streamed=True))
        assert streamed == simple and len(simple[0]) > 0


def test_the_streamed_read_of_an_empty_history_is_empty():
    if connection.vendor != "postgresql":
        pytest.skip("the streamed read is PostgreSQL's")
    assert all(len(a) == 0 for a in data.read_order_lines(streamed=True))


@pytest.mark.parametrize("streamed", paths())
def test_a_rebuild_stores_the_same_lists_whichever_read_it_used(history, monkeypatch, streamed):
    """The lists of a rebuild through the simple read are the reference; the streamed read must give them too."""
    def lists():
        build = RelatedBuild.objects.get(status=RelatedBuild.Status.LIVE)
        return list(RelatedProduct.objects.filter(build=build).order_by("product_id", "kind", "rank").values_list(
            "product_id", "related_id", "kind", "rank", "score", "evidence", "source"))

    original = data.read_order_lines
    monkeypatch.setattr(data, "read_order_lines", lambda **kw: original(**kw, streamed=False))
    services.rebuild()
    reference = lists()
    monkeypatch.setattr(data, "read_order_lines", lambda **kw: original(**kw, streamed=streamed))
    monkeypatch.setattr(data, "CHUNK_ORDERS", 5)
    services.rebuild()
    assert lists() == reference
    assert sum(1 for row in reference if row[6] == 3) > 10  # computed pairs, not only fallbacks


# -- The synthetic history (bench/related_synthetic.py) ------------------------------------------------------------

def demo_data(n_products=40, n_baskets=300, seed=3):
    """A DemoData-like stand-in for the Complete Journey (the real one takes half a minute to prepare)."""
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    product_ids = np.arange(1000, 1000 + n_products)
    departments = np.array(["DAIRY", "PRODUCE", "GROCERY"])[np.arange(n_products) % 3]
    products = pd.DataFrame({
        "title": [f"Thing {i}" for i in range(n_products)], "department": departments,
        "category": [None if i % 5 == 0 else f"CAT {i % 4}" for i in range(n_products)],
        "price_cents": rng.integers(50, 900, n_products), "in_stock": np.arange(n_products) % 17 != 0,
        "baskets": np.sort(rng.integers(1, 500, n_products))[::-1],
    }, index=pd.Index(product_ids, name="product_id"))
    rows = []
    for b in range(n_baskets):
        for p in rng.choice(product_ids, rng.integers(1, 8), replace=False):
            rows.append((5000 + b, int(p), int(rng.integers(1, 3)), int(rng.integers(50, 2000))))
    lines = pd.DataFrame(rows, columns=["basket_id", "product_id", "quantity", "cents"])
    baskets = pd.DataFrame({"basket_id": 5000 + np.arange(n_baskets),
                            "timestamp": pd.Timestamp("2017-01-01") + pd.to_timedelta(
                                rng.integers(0, 360 * 86400, n_baskets), unit="s")})
    return SimpleNamespace(products=products, lines=lines, baskets=baskets)


def test_the_synthetic_history_is_reproducible_and_scales_the_real_one():
    real = demo_data()
    first = related_synthetic.synthesize(3, seed=5, data=real)
    again = related_synthetic.synthesize(3, seed=5, data=real)
    other = related_synthetic.synthesize(3, seed=6, data=real)
    for name in ("line_order", "line_product", "order_time_us", "product_cents"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.line_product, other.line_product)
    assert first.n_orders == 3 * len(real.baskets) and first.n_products == 3 * len(real.products)
    assert 0.9 * 3 * len(real.lines) <= first.n_lines <= 3 * len(real.lines)  # substitutes may merge two lines
    # One line per (order, product); ids 1..n; orders numbered in time order.
    keys = first.line_order * (first.n_products + 1) + first.line_product
    assert len(np.unique(keys)) == first.n_lines
    assert first.line_product.min() >= 1 and first.line_product.max() <= first.n_products
    assert (np.diff(first.order_time_us) >= 0).all()
    # Basket sizes follow the real ones (a few lines merged by substitutes at most).
    real_sizes = np.sort(real.lines.groupby("basket_id").size().to_numpy())
    sizes = np.sort(np.bincount(first.line_order)[1:])
    assert abs(sizes.mean() - real_sizes.mean()) < 0.3


def test_a_fractional_scale_samples_the_real_baskets():
    syn = related_synthetic.synthesize(0.1, seed=1, data=demo_data())
    assert syn.n_orders == 30 and syn.n_lines > 0


def test_numeric_cents_in_postgresql_binary_layout():
    if connection.vendor != "postgresql":
        pytest.skip("binary COPY is PostgreSQL's")
    values = np.array([5, 100, 123_456_789, 1, 99, 1_000_000], dtype=np.int64)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE money_check (id int NOT NULL, amount numeric(12, 2) NOT NULL, "
                       "note varchar(10) NOT NULL, at timestamptz NOT NULL)")
        related_synthetic.copy_binary(cursor.cursor, "money_check", {"id": np.arange(len(values)), "amount": values})
        cursor.execute("SELECT amount, note, at FROM money_check ORDER BY id")
        rows = cursor.fetchall()
    assert [r[0] for r in rows] == [Decimal(v) / 100 for v in values.tolist()]
    assert {(r[1], r[2].year) for r in rows} == {("", 2000)}  # NOT NULL columns left out get neutral values


@pytest.mark.parametrize("half_life_days", [None, 30.0])
def test_blocks_on_two_threads_give_the_same_result_as_on_one(half_life_days):
    from journey.related import engine

    rng = np.random.default_rng(4)
    orders = rng.integers(0, 400, 4000)
    products = (rng.zipf(1.3, 4000) % 120) + 1
    epochs = 1_500_000_000 + orders * 3600
    one = engine.build(orders, products, epochs, half_life_days=half_life_days, block_entries=500, workers=1)
    two = engine.build(orders, products, epochs, half_life_days=half_life_days, block_entries=500, workers=2)
    assert len(one.params["seconds"]) == 3
    for name in ("product_ids", "neighbours", "scores", "counts", "frequency"):
        assert np.array_equal(getattr(one, name), getattr(two, name))
    assert (one.neighbours >= 0).sum() > 200
