"""The "bought together" engine and its offline evaluation: pure numpy, hand-made order lines, no database."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from journey.related.engine import Scoring, TopK, backfill, build, to_seconds
from journey.related.evaluation import evaluate, hit_rate_and_coverage, popularity, popularity_baseline, trials

DAY = 86400.0
NOW = 1_700_000_000.0  # epoch seconds


def lines(*orders):
    """Order lines from baskets: lines((1, [10, 20]), (2, [10, 30])) -> (order ids, product ids)."""
    order_ids, product_ids = [], []
    for order_id, products in orders:
        order_ids += [order_id] * len(products)
        product_ids += list(products)
    return np.array(order_ids), np.array(product_ids)


def related(result, product_id):
    return result.related(product_id).tolist()


def random_lines(seed=7, n_orders=400, n_products=60):
    rng = np.random.default_rng(seed)
    popularity_weights = 1.0 / np.arange(1, n_products + 1)
    popularity_weights /= popularity_weights.sum()
    order_ids, product_ids, seconds = [], [], []
    for order in range(n_orders):
        size = int(rng.integers(1, 9))
        products = rng.choice(np.arange(100, 100 + n_products), size=size, p=popularity_weights)
        order_ids += [order] * size
        product_ids += products.tolist()
        seconds += [NOW - float(rng.integers(0, 400)) * DAY] * size
    return np.array(order_ids), np.array(product_ids), np.array(seconds)


# -- The engine -----------------------------------------------------------------------------------------------------


def test_pair_bought_together_in_three_orders_ranks_first():
    o, p = lines((1, [1, 2, 3]), (2, [1, 2, 4]), (3, [1, 2]), (4, [1, 3, 5]), (5, [1, 4, 6]))
    result = build(o, p, min_support=1, scoring=Scoring.count())
    assert related(result, 1)[0] == 2
    row = result.index([1])[0]
    assert result.counts[row, 0] == 3
    assert related(result, 2)[0] == 1


def test_pair_seen_in_one_order_only_is_dropped_by_min_support_two():
    o, p = lines((1, [1, 2, 9]), (2, [1, 2]), (3, [1, 3]))
    result = build(o, p, min_support=2)
    assert related(result, 1) == [2]  # 1-3 and 1-9 were each bought together once
    assert 9 not in related(result, 2)
    assert related(result, 3) == []
    assert related(build(o, p, min_support=1), 3) == [1]


def test_a_product_never_appears_in_its_own_list():
    o, p, _ = random_lines()
    result = build(o, p, min_support=1, k=10)
    rows = np.arange(len(result))[:, None]
    assert not (result.neighbours == rows).any()
    # ... and a row lists each product at most once.
    ordered = np.sort(result.neighbours, axis=1)
    assert not ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)).any()


def test_repeated_lines_of_a_product_in_one_order_count_once():
    o, p = lines((1, [1, 2, 2, 2]), (2, [1, 3]), (3, [1, 3]))
    result = build(o, p, min_support=1, scoring=Scoring.count())
    assert related(result, 1) == [3, 2]
    assert result.counts[result.index([1])[0]].tolist()[:2] == [2, 1]


def test_recency_weighting_makes_a_recent_pair_outrank_an_old_one():
    old = NOW - 300 * DAY
    o, p = lines((1, [1, 2]), (2, [1, 2]), (3, [1, 2]), (4, [1, 3]), (5, [1, 3]))
    seconds = np.array([old] * 6 + [NOW] * 4)
    plain = build(o, p, seconds, min_support=2, scoring=Scoring.count())
    assert related(plain, 1) == [2, 3]
    recent = build(o, p, seconds, min_support=2, half_life_days=30, scoring=Scoring.count())
    assert related(recent, 1) == [3, 2]
    row = recent.index([1])[0]
    assert recent.counts[row].tolist()[:2] == [2, 3]  # the evidence stays the raw order counts


def test_the_window_drops_old_orders():
    o, p = lines((1, [1, 2]), (2, [1, 2]), (3, [1, 3]), (4, [1, 3]), (5, [4, 5]), (6, [4, 5]))
    seconds = np.array([NOW - 400 * DAY] * 4 + [NOW - 10 * DAY] * 8)
    result = build(o, p, seconds, window_days=365, min_support=2)
    assert related(result, 1) == [3]
    assert 2 not in result.product_ids.tolist()  # only bought outside the window
    assert result.n_orders == 4
    everything = build(o, p, seconds, min_support=2)
    assert sorted(related(everything, 1)) == [2, 3]


def test_orders_after_now_are_ignored_and_now_accepts_datetimes():
    o, p = lines((1, [1, 2]), (2, [1, 2]), (3, [1, 3]), (4, [1, 3]))
    seconds = np.array([NOW - DAY] * 4 + [NOW + DAY] * 4)
    cut = datetime.fromtimestamp(NOW, tz=UTC)
    result = build(o, p, seconds, now=cut, min_support=2)
    assert related(result, 1) == [2]
    as_datetimes = np.array([datetime.fromtimestamp(s, tz=UTC) for s in seconds], dtype=object)
    assert related(build(o, p, as_datetimes, now=cut, min_support=2), 1) == [2]
    as_datetime64 = (seconds * 1e6).astype("datetime64[us]")
    assert to_seconds(as_datetime64).tolist() == seconds.tolist()
    assert related(build(o, p, as_datetime64, now=cut - timedelta(days=2), min_support=1), 1) == []


def test_window_and_half_life_need_timestamps():
    o, p = lines((1, [1, 2]))
    with pytest.raises(ValueError, match="timestamps"):
        build(o, p, window_days=30)
    with pytest.raises(ValueError, match="timestamps"):
        build(o, p, half_life_days=30)


@pytest.mark.parametrize(
    ("scoring", "half_life_days"),
    [(Scoring.count(), None), (Scoring(), None), (Scoring.normalised(0.5), 60), (Scoring(0.3, 2, 3), 45)],
)
def test_row_blocks_give_the_same_result_as_one_block(scoring, half_life_days):
    o, p, seconds = random_lines()
    options = {"min_support": 2, "k": 8, "scoring": scoring, "half_life_days": half_life_days}
    whole = build(o, p, seconds, block_rows=10**9, block_entries=10**12, **options)
    for rows, entries in [(1, 10**12), (7, 10**12), (10**9, 50), (3, 1)]:
        blocked = build(o, p, seconds, block_rows=rows, block_entries=entries, **options)
        np.testing.assert_array_equal(blocked.neighbours, whole.neighbours)
        np.testing.assert_array_equal(blocked.counts, whole.counts)
        np.testing.assert_allclose(blocked.scores, whole.scores, rtol=1e-6)
    assert (whole.neighbours >= 0).sum() > 100  # the fixture does produce pairs


def test_a_product_with_no_co_purchases_gets_an_empty_row():
    o, p = lines((1, [1, 2]), (2, [1, 2]), (3, [7]), (4, [7]), (5, [8, 1]))
    result = build(o, p, min_support=2)
    for product in (7, 8):  # bought alone; bought with 1 only once
        row = result.index([product])[0]
        assert row >= 0
        assert result.neighbours[row].tolist() == [-1] * result.k
        assert result.counts[row].tolist() == [0] * result.k
    assert result.index([99]).tolist() == [-1]
    assert related(result, 99) == []


def test_count_slots_then_normalised_slots():
    # Anchor 1 is bought with the staple 2 in four orders, with the niche product 3 in two (3 is bought nowhere
    # else), with 4 in three; 2 and 4 are bought in many other orders too.
    baskets = [(1, [1, 2, 4]), (2, [1, 2, 4]), (3, [1, 2, 4]), (4, [1, 2, 3]), (5, [1, 3])]
    baskets += [(10 + i, [2, 4, 50 + i]) for i in range(20)]
    o, p = lines(*baskets)
    by_count = build(o, p, scoring=Scoring.count())
    assert related(by_count, 1) == [2, 4, 3]
    normalised = build(o, p, scoring=Scoring.normalised(1.0))
    assert related(normalised, 1)[0] == 3
    # freq(1) = 5: round(0 + 1 * log10(6)) = 1 slot by count (2), then the normalised score (3 before 4).
    hybrid = build(o, p, scoring=Scoring(beta=1.0, base_slots=0, slots_per_decade=1))
    assert related(hybrid, 1) == [2, 3, 4]


def test_pairs_flatten_the_lists_for_storage():
    o, p = lines((1, [1, 2, 3]), (2, [1, 2, 3]), (3, [1, 2]))
    result = build(o, p, min_support=2, scoring=Scoring.count())
    anchors, ranks, targets, scores, counts = result.pairs()
    table = sorted(zip(anchors.tolist(), ranks.tolist(), targets.tolist(), counts.tolist(), strict=True))
    assert table == [(1, 0, 2, 3), (1, 1, 3, 2), (2, 0, 1, 3), (2, 1, 3, 2), (3, 0, 1, 2), (3, 1, 2, 2)]
    assert (scores > 0).all()


def test_backfill_fills_only_empty_slots_without_self_or_duplicates():
    o, p = lines((1, [1, 2]), (2, [1, 2]), (3, [3]), (4, [4, 3]))
    result = build(o, p, min_support=2, k=3)
    filled = backfill(result, [1, 3, 2, 4])
    assert related(filled, 1) == [2, 3, 4]
    assert related(filled, 3) == [1, 2, 4]
    row = filled.index([1])[0]
    assert filled.counts[row].tolist() == [2, 0, 0]  # filled slots carry no evidence


def test_empty_input():
    result = build(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert isinstance(result, TopK)
    assert len(result) == 0
    assert result.neighbours.shape == (0, 10)


# -- The evaluation -------------------------------------------------------------------------------------------------


def test_trials_keep_orders_with_two_distinct_products_and_pick_anchors_reproducibly():
    o, p = lines((1, [5, 5]), (2, [5, 6, 7]), (3, [8]), (4, [6, 7]))
    first = trials(o, p, seed=3)
    assert len(first) == 2  # order 1 has one distinct product, order 3 one line
    assert first.anchors.tolist() == trials(o, p, seed=3).anchors.tolist()
    assert first.anchors[0] in (5, 6, 7) and first.anchors[1] in (6, 7)
    anchors = {tuple(trials(o, p, seed=s).anchors.tolist()) for s in range(20)}
    assert len(anchors) > 1


def test_hit_rate_counts_an_anchor_without_a_list_as_a_miss_and_measures_coverage():
    train_o, train_p = lines((1, [1, 2]), (2, [1, 2]), (3, [3, 4]), (4, [3, 4]))
    model = build(train_o, train_p, min_support=2, k=10)
    # Test orders of two products: the anchor is one of them, its partner must be in the list for a hit.
    test_o, test_p = lines((10, [1, 2]), (11, [3, 9]), (12, [9, 8]))
    test = trials(test_o, test_p, seed=0)
    quality = evaluate(model, test)
    anchors = test.anchors.tolist()
    assert quality.trials == 3
    # Order 10 hits whichever anchor; order 11 misses (3's list is [4]; 9 is unknown); order 12 has no list at all.
    assert quality.hits == 1
    assert quality.anchors_without_list == 1 + (anchors[1] == 9)
    assert quality.hit_rate == pytest.approx(1 / 3)
    assert quality.catalog_coverage == 4  # 1, 2, 3, 4 all appear in some list
    shown = {1: {2}, 2: {1}, 3: {4}, 9: set(), 8: set()}
    assert quality.coverage == len(set().union(*(shown[a] for a in anchors)))


def test_hit_rate_and_coverage_builds_and_evaluates():
    o, p, seconds = random_lines(seed=1, n_orders=600)
    train = seconds < NOW - 60 * DAY
    quality = hit_rate_and_coverage(o[train], p[train], o[~train], p[~train], k=5, seed=2, min_support=2)
    model = build(o[train], p[train], k=5, min_support=2)
    assert quality == evaluate(model, trials(o[~train], p[~train], seed=2), k=5)
    assert 0 < quality.hit_rate < 1


def test_popularity_baseline_lists_the_bestsellers_without_the_product_itself():
    o, p = lines((1, [1, 2, 3]), (2, [1, 2]), (3, [1, 4]), (4, [5, 6]))
    model = popularity(o, p, k=2)
    assert related(model, 4) == [1, 2]
    assert related(model, 1) == [2, 3]  # 1 is the bestseller: its list skips it
    assert related(model, 2) == [1, 3]
    test_o, test_p = lines((10, [1, 2]), (11, [4, 6]))
    quality = popularity_baseline(o, p, test_o, test_p, k=2, seed=0)
    assert quality.trials == 2
    assert quality.hits == 1  # order 10 hits whichever anchor; order 11 cannot
    assert quality.coverage <= 3
