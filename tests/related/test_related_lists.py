"""The lists the shop shows (journey.related.lists) and the similar-products fallback: pure numpy, no database."""

import numpy as np
import pytest

from journey.related import lists
from journey.related.engine import Scoring, Similarity, build, similar
from journey.related.evaluation import evaluate, shipped_lists, trials
from journey.related.lists import Catalogue, ListPolicy, Rules, assemble
from journey.related.models import Source

DAIRY, BAKERY, SOAP = 1, 2, 3


def lines(*orders):
    order_ids, product_ids = [], []
    for order_id, products in orders:
        order_ids += [order_id] * len(products)
        product_ids += list(products)
    return np.array(order_ids), np.array(product_ids)


def catalogue(products, buyable=None):
    """products: {id: (category, title, price)}."""
    ids = sorted(products)
    return Catalogue(
        product_ids=ids,
        buyable=[True] * len(ids) if buyable is None else [p in buyable for p in ids],
        categories=[products[p][0] for p in ids],
        titles=[products[p][1] for p in ids],
        prices=[products[p][2] for p in ids],
    )


def listed(result, product_id, source=None):
    return [p for p, s in result.related(product_id) if source is None or s == source]


SHOP = {
    1: (DAIRY, "Cheddar cheese 200 g", 3.0),
    2: (BAKERY, "Crackers", 1.5),
    3: (DAIRY, "Red wine", 8.0),
    4: (BAKERY, "Jam", 2.5),
    5: (DAIRY, "Cheddar cheese 400 g", 5.5),
    6: (DAIRY, "Cheddar cheese 1 kg", 12.0),
    7: (DAIRY, "Goat cheese 150 g", 3.2),
    8: (SOAP, "Hand soap", 2.0),
    9: (BAKERY, "Rye bread", 2.2),
    10: (DAIRY, "Milk 1 l", 1.0),
}


def history():
    """Cheese (1) with crackers (2) in three orders, with wine (3) in two, with jam (4) once; milk (10) sells most."""
    baskets = [(1, [1, 2, 10]), (2, [1, 2, 10]), (3, [1, 2]), (4, [1, 3, 10]), (5, [1, 3]), (6, [1, 4])]
    baskets += [(100 + i, [10, 9]) for i in range(6)]
    return lines(*baskets)


# -- Similar products -----------------------------------------------------------------------------------------------


def similar_ids(products, product_id, **options):
    cat = catalogue(products)
    result = similar(cat.categories, cat.titles, cat.prices, **options)
    row = result.neighbours[int(cat.index([product_id])[0])]
    return cat.product_ids[row[row >= 0]].tolist()


def test_similar_products_share_the_category_and_never_include_the_product_itself():
    found = similar_ids(SHOP, 1)
    assert 1 not in found
    assert set(found) <= {p for p, (category, _, _) in SHOP.items() if category == DAIRY}
    assert found[:2] == [5, 7]  # the same cheddar in another size, then the cheese nearest in price (3.2 vs 3.0)
    assert 6 in found and 2 not in found and 8 not in found


def test_among_equally_similar_products_the_nearest_price_comes_first():
    products = {i: (DAIRY, "Yoghurt", price) for i, price in enumerate([1.0, 9.0, 1.1, 3.0, 0.5], 1)}
    assert similar_ids(products, 1) == [3, 5, 4, 2]
    assert similar_ids(products, 1, similarity=Similarity(price_weight=0))[0] == 2  # ties by index without price


def test_words_every_product_of_the_category_has_do_not_make_products_similar():
    products = {1: (DAIRY, "Store brand milk", 1.0), 2: (DAIRY, "Store brand butter", 2.0),
                3: (DAIRY, "Store brand cream", 1.5), 4: (DAIRY, "Store brand organic butter", 3.0)}
    assert similar_ids(products, 2) == [4]
    assert similar_ids(products, 1) == []


def test_similar_products_are_only_candidates():
    cat = catalogue(SHOP)
    candidates = cat.product_ids != 5
    result = similar(cat.categories, cat.titles, cat.prices, candidates=candidates)
    assert 4 not in result.neighbours[cat.index([1])[0]].tolist()  # row 4 is product 5


# -- Assembled lists ------------------------------------------------------------------------------------------------


def test_a_pair_seen_in_one_order_is_never_shown_as_computed():
    o, p = history()
    policy = ListPolicy(extra_evidence=10)
    for scoring in (Scoring(), Scoring.count(), Scoring.normalised(1.0)):
        result = shipped_lists(o, p, catalogue(SHOP), policy=policy, min_support=2, scoring=scoring)
        # Crackers and milk (3 orders each with cheese), wine (2); never jam (one order).
        assert sorted(listed(result, 1, lists.COMPUTED)) == [2, 3, 10]
        assert 1 not in listed(result, 4, lists.COMPUTED)
        assert (result.evidence[result.sources == lists.COMPUTED] >= 2).all()
    with pytest.raises(ValueError, match="min_support"):
        shipped_lists(o, p, catalogue(SHOP), min_support=0)


def test_evidence_of_computed_entries_is_the_number_of_orders():
    o, p = history()
    result = shipped_lists(o, p, catalogue(SHOP))
    row = result.index([1])[0]
    sources = result.sources[row].tolist()
    evidence = result.evidence[row][[s == lists.COMPUTED for s in sources]].tolist()
    assert evidence == [3, 3, 2]
    assert (result.evidence[result.sources != lists.COMPUTED] == 0).all()


def test_popular_complements_come_first_then_similar_products_of_the_category():
    o, p = history()
    result = shipped_lists(o, p, catalogue(SHOP), policy=ListPolicy(size=6))
    entries = result.related(1)
    # freq(cheese) = 6 orders: round(0.5 + 3 * log10(7)) = 3 popular slots, by co-count: milk and crackers (3 orders
    # each; milk sells more), wine (2).  Jam (1 order) is no pair; the rest are similar dairy products.
    assert entries[:3] == [(10, lists.COMPUTED), (2, lists.COMPUTED), (3, lists.COMPUTED)]
    assert entries[3:] == [(5, lists.SIMILAR), (7, lists.SIMILAR), (6, lists.SIMILAR)]


def test_best_sellers_make_up_the_popular_slots_of_a_product_with_few_pairs():
    o, p = history()
    result = shipped_lists(o, p, catalogue(SHOP), policy=ListPolicy(size=4))
    # Wine: 2 orders → round(0.5 + 3 * log10(3)) = 2 popular slots; one pair (cheese), so the best seller (milk) makes
    # up the second; no similar title in its category, so the category's best sellers follow.
    assert result.related(3)[:3] == [(1, lists.COMPUTED), (10, lists.FALLBACK_BESTSELLER),
                                     (5, lists.FALLBACK_CATEGORY)]
    off = shipped_lists(o, p, catalogue(SHOP), policy=ListPolicy(size=4, bestsellers_make_up_popular=False))
    assert off.related(3)[1] != (10, lists.FALLBACK_BESTSELLER)


def test_a_never_sold_product_gets_a_full_list_of_similar_products_then_best_sellers():
    o, p = history()
    result = shipped_lists(o, p, catalogue(SHOP), policy=ListPolicy(size=5))
    entries = result.related(6)  # cheddar 1 kg, never sold
    assert len(entries) == 5
    assert entries[0] == (5, lists.SIMILAR)  # cheddar 400 g: same title words, nearest price
    assert 6 not in [e for e, _ in entries]
    assert {s for _, s in entries} <= {lists.SIMILAR, lists.FALLBACK_CATEGORY, lists.FALLBACK_BESTSELLER}


def test_without_similar_products_the_fallback_is_the_category_by_popularity():
    o, p = history()
    result = shipped_lists(o, p, catalogue(SHOP), policy=ListPolicy(size=4, similar=False))
    entries = result.related(7)  # goat cheese, never sold
    assert entries[0] == (10, lists.FALLBACK_CATEGORY)  # milk: the category's best seller
    assert all(SHOP[e][0] == DAIRY for e, s in entries if s == lists.FALLBACK_CATEGORY)


def test_rules_lead_and_suppressions_and_unbuyable_products_hold_in_every_source():
    o, p = history()
    rules = Rules(manual={1: [9]}, pins={1: [8]}, pairs={1: {3}}, everywhere={5})
    result = shipped_lists(o, p, catalogue(SHOP, buyable=set(SHOP) - {7}), rules=rules)
    entries = result.related(1)
    assert entries[:2] == [(9, lists.MANUAL), (8, lists.PINNED)]
    ids = [e for e, _ in entries]
    assert 3 not in ids and 5 not in ids and 7 not in ids and 1 not in ids
    assert len(ids) == len(set(ids))
    assert all(5 not in listed(result, other) and 7 not in listed(result, other) for other in SHOP)


def test_columns_flatten_the_lists_for_the_bulk_write():
    o, p = history()
    result = shipped_lists(o, p, catalogue(SHOP), policy=ListPolicy(size=3))
    product, related, kind, rank, score, evidence, source = result.columns(kind=1)
    assert len(product) == 3 * len(SHOP)
    first = [(r, k, rk, s) for pr, r, k, rk, s in zip(product, related, kind, rank, source, strict=True) if pr == 1]
    assert [(r, s) for r, _k, _rk, s in first] == result.related(1)
    assert [rk for _r, _k, rk, _s in first] == [1, 2, 3] and {k for _r, k, _rk, _s in first} == {1}


def test_the_evaluation_reads_the_shipped_lists():
    o, p = history()
    result = shipped_lists(o, p, catalogue(SHOP))
    test_o, test_p = lines((50, [1, 2]), (51, [6, 5]), (52, [8, 4]))
    quality = evaluate(result, trials(test_o, test_p, seed=0))
    assert quality.trials == 3 and quality.anchors_without_list == 0
    # Cheese/crackers and the two cheddars hit whichever product is the anchor; soap's and jam's lists hold neither.
    assert quality.hits >= 2
    assert quality.coverage == len({e for a in trials(test_o, test_p, seed=0).anchors for e, _ in result.related(a)})


def test_source_values_match_the_model_choices():
    assert (lists.MANUAL, lists.PINNED, lists.COMPUTED, lists.FALLBACK_CATEGORY, lists.FALLBACK_BESTSELLER,
            lists.SIMILAR) == (Source.MANUAL, Source.PINNED, Source.COMPUTED, Source.FALLBACK_CATEGORY,
                               Source.FALLBACK_BESTSELLER, Source.SIMILAR)


def test_an_empty_history_and_an_empty_catalogue():
    o, p = lines()
    result = shipped_lists(o, p, catalogue(SHOP), policy=ListPolicy(size=3))
    assert all(len(result.related(pid)) == 3 for pid in SHOP)
    empty = assemble(build(*history()), catalogue({}))
    assert len(empty) == 0 and empty.neighbours.shape == (0, 10)


def test_a_catalogue_needs_sorted_ids_and_one_entry_per_product():
    with pytest.raises(ValueError, match="sorted"):
        Catalogue([2, 1], [True, True], [1, 1], ["a", "b"], [1.0, 1.0])
    with pytest.raises(ValueError, match="one entry per product"):
        Catalogue([1, 2], [True], [1, 1], ["a", "b"], [1.0, 1.0])
