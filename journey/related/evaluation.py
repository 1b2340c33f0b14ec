"""Offline quality of "bought together" lists: hit rate at k and coverage on held-out orders.

The protocol (used by ``bench/related_quality.py`` on the Complete Journey data):

* Train on the orders before a cut-off, evaluate on the orders after it.
* Every test order with at least two distinct products is one trial.  One of its distinct products is the anchor,
  chosen uniformly with ``numpy.random.default_rng(seed)`` (orders taken in ascending order id, products in ascending
  product id, so the choice is reproducible).
* The trial is a hit when any of the anchor's top-k related products is among the order's other products.  An order
  whose anchor has no list (a product the model never saw, or one without any pair that passed the evidence
  threshold) is a miss: the protocol does not fall back to anything.
* HR@k = hits / trials.
* Coverage = distinct products appearing in the top-k lists shown during the evaluation, i.e. the lists of the
  anchors of all trials (the figures in the issue were measured this way); ``catalog_coverage`` = distinct products
  appearing in any list of the model (every anchor's, shown or not).

Pure numpy; no pandas, no database.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import TopK, build


@dataclass(frozen=True)
class Quality:
    k: int
    trials: int  # test orders with >= 2 distinct products
    hits: int
    anchors_without_list: int  # trials whose anchor has no (non-empty) list: counted as misses
    coverage: int  # distinct products in the top-k lists of the trials' anchors
    catalog_coverage: int  # distinct products in all top-k lists of the model

    @property
    def hit_rate(self) -> float:
        return self.hits / self.trials if self.trials else 0.0


@dataclass(frozen=True)
class Trials:
    """The test side, prepared once: each trial's order products and its anchor."""

    order_index: np.ndarray  # per distinct (order, product) pair of the trials: the trial number
    product_ids: np.ndarray  # per pair: the product id
    anchors: np.ndarray  # per trial: the anchor product id

    def __len__(self) -> int:
        return len(self.anchors)


def trials(order_ids, product_ids, *, seed: int = 0) -> Trials:
    """The trials of the protocol: test orders with >= 2 distinct products and a seeded random anchor each."""
    order_ids = np.asarray(order_ids).ravel()
    product_ids = np.asarray(product_ids).ravel()
    if len(order_ids) != len(product_ids):
        raise ValueError("order_ids and product_ids must have the same length")
    if len(order_ids) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Trials(empty, product_ids[:0], product_ids[:0])
    order = np.lexsort((product_ids, order_ids))
    o, p = order_ids[order], product_ids[order]
    distinct = np.r_[True, (o[1:] != o[:-1]) | (p[1:] != p[:-1])]
    o, p = o[distinct], p[distinct]
    starts = np.flatnonzero(np.r_[True, o[1:] != o[:-1]])
    sizes = np.diff(np.r_[starts, len(o)])
    eligible = sizes >= 2
    members = np.repeat(eligible, sizes)
    starts, sizes = starts[eligible], sizes[eligible]
    rng = np.random.default_rng(seed)
    picks = starts + rng.integers(0, sizes) if len(sizes) else starts
    index = np.repeat(np.arange(len(starts)), sizes)
    return Trials(order_index=index, product_ids=p[members], anchors=p[picks])


def evaluate(model: TopK, test: Trials, *, k: int | None = None) -> Quality:
    """HR@k and coverage of ``model``'s lists on prepared trials (see the module docstring)."""
    k = model.k if k is None else k
    if k > model.k:
        raise ValueError(f"the model has lists of {model.k}, not {k}")
    neighbours = model.neighbours[:, :k]
    listed = neighbours[neighbours >= 0]
    catalog_coverage = len(np.unique(listed))
    n = len(test)
    if n == 0:
        return Quality(k, 0, 0, 0, 0, catalog_coverage)

    anchor_row = model.index(test.anchors)
    known = anchor_row >= 0
    lists = np.full((n, k), -1, dtype=np.int64)
    lists[known] = neighbours[anchor_row[known]]
    lists[lists == anchor_row[:, None]] = -1  # never count the anchor itself (the engine never lists it anyway)
    has_list = (lists >= 0).any(axis=1)

    # Membership of (trial, product) in the trial's order, by sorted integer keys over the model's row indices.
    width = len(model.product_ids) + 1
    member_row = model.index(test.product_ids)
    member_keys = np.sort(test.order_index.astype(np.int64) * width + (member_row + 1))
    list_keys = np.arange(n, dtype=np.int64)[:, None] * width + (lists + 1)
    pos = np.minimum(np.searchsorted(member_keys, list_keys), len(member_keys) - 1)
    hit = (member_keys[pos] == list_keys) & (lists >= 0)
    hits = int(hit.any(axis=1).sum())

    shown = lists[has_list]
    coverage = len(np.unique(shown[shown >= 0]))
    return Quality(
        k=k,
        trials=n,
        hits=hits,
        anchors_without_list=int(n - has_list.sum()),
        coverage=coverage,
        catalog_coverage=catalog_coverage,
    )


def hit_rate_and_coverage(
    train_order_ids,
    train_product_ids,
    test_order_ids,
    test_product_ids,
    *,
    train_timestamps=None,
    k: int = 10,
    seed: int = 0,
    **build_options,
) -> Quality:
    """Build the engine on the training lines (``build_options`` go to :func:`~journey.related.engine.build`) and
    evaluate it on the test lines with the protocol of this module.  An anchor without a list is a miss."""
    model = build(train_order_ids, train_product_ids, train_timestamps, k=k, **build_options)
    return evaluate(model, trials(test_order_ids, test_product_ids, seed=seed), k=k)


def popularity(order_ids, product_ids, *, k: int = 10) -> TopK:
    """The popularity baseline as a :class:`TopK`: every product's list is the ``k`` products bought in the most
    orders (ties by product id), without the product itself.  ``scores`` = share of orders containing the target,
    ``counts`` = the target's order count (there is no co-purchase evidence)."""
    order_ids = np.asarray(order_ids).ravel()
    product_ids = np.asarray(product_ids).ravel()
    products, product_code = np.unique(product_ids, return_inverse=True)
    orders, order_code = np.unique(order_ids, return_inverse=True)
    n_products = len(products)
    pairs = np.sort(order_code.astype(np.int64) * max(n_products, 1) + product_code)
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
    frequency = np.bincount(pairs % max(n_products, 1), minlength=n_products).astype(np.int64)
    top = np.lexsort((np.arange(n_products), -frequency))[: k + 1]
    neighbours = np.full((n_products, k), -1, dtype=np.int32)
    head = top[:k]
    neighbours[:, : len(head)] = head
    for i, product in enumerate(head):  # a bestseller's own list skips itself and takes the (k+1)-th
        row = np.r_[top[:i], top[i + 1 :]][:k]
        neighbours[product] = -1
        neighbours[product, : len(row)] = row
    valid = neighbours >= 0
    target = np.where(valid, neighbours, 0)
    share = frequency / max(len(orders), 1)
    return TopK(
        product_ids=products,
        neighbours=neighbours,
        scores=np.where(valid, share[target], 0).astype(np.float32),
        counts=np.where(valid, frequency[target], 0).astype(np.int32),
        frequency=frequency,
        n_orders=len(orders),
        params={"baseline": "popularity", "k": k},
    )


def popularity_baseline(
    train_order_ids, train_product_ids, test_order_ids, test_product_ids, *, k: int = 10, seed: int = 0
) -> Quality:
    """HR@k and coverage of the popularity baseline under the same protocol."""
    model = popularity(train_order_ids, train_product_ids, k=k)
    return evaluate(model, trials(test_order_ids, test_product_ids, seed=seed), k=k)


def shipped_lists(train_order_ids, train_product_ids, catalogue, *, rules=None, policy=None, train_timestamps=None,
                  **build_options):
    """The lists the shop would show after training on these order lines: the engine (``build_options`` go to
    :func:`~journey.related.engine.build`; ``k`` follows the policy) and
    :func:`~journey.related.lists.assemble` — the very functions the rebuild runs."""
    from .lists import COMPUTE_MARGIN, DEFAULT_POLICY, assemble

    policy = DEFAULT_POLICY if policy is None else policy
    top = build(train_order_ids, train_product_ids, train_timestamps, k=policy.size + COMPUTE_MARGIN,
                **build_options)
    return assemble(top, catalogue, rules, policy)
