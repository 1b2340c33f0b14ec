"""Bought together: each product's top-k co-purchased products, computed from order history on numpy arrays.

Pure functions, no Django: the caller reads ``(order id, product id[, timestamp])`` per order line from wherever it
likes and stores the :class:`TopK` it gets back.  Only numpy and scipy are needed (no pandas).

How :func:`build` works
-----------------------
1. Lines outside the time window (``window_days`` before ``now``) and lines after ``now`` are dropped, and each
   (order, product) pair counts once however many lines it has.
2. The orders x products incidence matrix ``X`` (CSR) is built.  With ``half_life_days`` each order carries the weight
   ``0.5 ** (age_days / half_life_days)``, so a recent order counts more than an old one.
3. The co-purchase counts ``XᵀX`` are computed in row blocks of anchor products: a block's rows are as many anchors as
   keep the block's entries under ``block_entries`` (an upper bound computed beforehand from the order sizes) and its
   row count under ``block_rows``, so peak memory is bounded and the full products x products matrix never exists.
   The diagonal (a product with itself) is dropped.
4. Minimum evidence: a pair is kept only if at least ``min_support`` distinct orders contain both products (raw
   counts, before any recency weight), so one odd basket does not create a pair.
5. Scoring (see :class:`Scoring`) and a per-row top-k taken with one integer sort per block (ties are broken by the
   more frequently bought target, then by product id, so results are deterministic).

The scoring, and why
--------------------
Ranking by raw co-count maximises the hit rate but recommends the same few staples (milk, bananas, bread) from every
product; dividing by the target's popularity (``count / freq(target) ** beta``) finds what goes with *this* product
but costs hit rate.  The hit rate lives in the lists of frequently bought products (they are the anchors shoppers see
most), while most distinct products would come from the lists of the many less frequent ones.  So each row starts with
``round(base_slots + slots_per_decade * log10(1 + freq(anchor)))`` entries by raw co-count (a best seller's list is
almost all co-count), followed by entries by ``count / freq(target) ** beta``.  ``journey.related.lists`` turns rows
into the lists the shop shows (it makes up short count slots with best sellers, keeps two normalised entries and
fills the rest with similar products, :func:`similar`); ``bench/related_quality.py`` measures the whole trade-off on
the Complete Journey data.

:func:`similar` is the content side: products of the same category with the most similar title (tf-idf over the
title's words), nearest in price first.
"""

from __future__ import annotations

import math
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import scipy.sparse as sp

SECONDS_PER_DAY = 86400.0
_EPOCH = np.datetime64(0, "us")
_INF_BITS = np.uint32(0x7F800000)  # float32 +inf: the largest bit pattern of a non-negative, non-NaN float32


def index_of(sorted_ids: np.ndarray, product_ids) -> np.ndarray:
    """Row indices of ``product_ids`` in the ascending ``sorted_ids`` (-1 for ids not there)."""
    wanted = np.asarray(product_ids, dtype=np.int64)
    if not len(sorted_ids):
        return np.full(wanted.shape, -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == wanted, pos, -1).astype(np.int64)


@dataclass(frozen=True)
class Scoring:
    """How one anchor's candidates are ranked.  Three knobs:

    ``beta``
        The popularity penalty of the normalised score ``co_count / freq(target) ** beta`` (0 = raw co-count;
        0.5 ranks like cosine similarity, whose anchor factor is the same for the whole row).
    ``base_slots``, ``slots_per_decade``
        The first ``round(base_slots + slots_per_decade * log10(1 + freq(anchor)))`` slots (clipped to 0..k) are
        filled by raw co-count, the rest by the normalised score.  Both 0: the whole list is normalised.

    With recency weighting "co-count" and "freq" are the recency-weighted ones (the evidence threshold always uses
    raw counts).
    """

    beta: float = 0.5
    base_slots: float = 0.5
    slots_per_decade: float = 3.0

    def __post_init__(self):
        if not (self.beta >= 0 and math.isfinite(self.beta)):
            raise ValueError(f"beta must be a finite number >= 0, not {self.beta!r}")

    @classmethod
    def count(cls) -> Scoring:
        """Raw co-count only (the highest hit rate, the least variety)."""
        return cls(beta=0.0, base_slots=0.0, slots_per_decade=0.0)

    @classmethod
    def normalised(cls, beta: float) -> Scoring:
        """``co_count / freq(target) ** beta`` for every slot (the one-knob blend)."""
        return cls(beta=beta, base_slots=0.0, slots_per_decade=0.0)

    def count_slots(self, frequency: np.ndarray, k: int) -> np.ndarray:
        """How many slots of each anchor's list are filled by raw co-count."""
        frequency = np.asarray(frequency, dtype=np.float64)
        if self.base_slots == 0 and self.slots_per_decade == 0:
            return np.zeros(len(frequency), dtype=np.int64)
        slots = np.rint(self.base_slots + self.slots_per_decade * np.log10(1.0 + frequency))
        return np.clip(slots, 0, k).astype(np.int64)


DEFAULT_SCORING = Scoring()


@dataclass(frozen=True, eq=False)
class TopK:
    """Each product's related products.  Row ``i`` is about ``product_ids[i]``; columns are ranks, best first.

    ``neighbours[i, j]`` is a row index into ``product_ids`` (-1 = empty slot), ``scores[i, j]`` the normalised score
    ``co_count / freq(target) ** beta`` (informational: the first slots are ranked by co-count, so scores need not
    decrease along a row; 0 in empty slots), ``counts[i, j]`` the evidence: how many orders contained both (0 in
    empty slots).  ``frequency[i]`` is how many orders contained product ``i``; ``n_orders`` how many orders were
    used.  Products only seen outside the window are not in ``product_ids``."""

    product_ids: np.ndarray
    neighbours: np.ndarray
    scores: np.ndarray
    counts: np.ndarray
    frequency: np.ndarray
    n_orders: int
    params: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return self.neighbours.shape[1]

    def __len__(self) -> int:
        return len(self.product_ids)

    @property
    def popularity(self) -> np.ndarray:
        """Alias of ``frequency``: how many orders contained each product."""
        return self.frequency

    def index(self, product_ids) -> np.ndarray:
        """Row indices of ``product_ids`` (array-like), -1 for products the result does not know."""
        return index_of(self.product_ids, product_ids)

    def related(self, product_id) -> np.ndarray:
        """The related product ids of one product, best first (empty if it has none or is unknown)."""
        i = int(self.index([product_id])[0])
        if i < 0:
            return self.product_ids[:0]
        row = self.neighbours[i]
        return self.product_ids[row[row >= 0]]

    def pairs(self):
        """All non-empty slots as flat arrays, ready for a bulk insert:
        ``(anchor_ids, ranks, related_ids, scores, counts)``; ``ranks`` counts from 0 (best)."""
        anchor, rank = np.nonzero(self.neighbours >= 0)
        related = self.neighbours[anchor, rank]
        return (
            self.product_ids[anchor],
            rank.astype(np.int64),
            self.product_ids[related],
            self.scores[anchor, rank],
            self.counts[anchor, rank],
        )


def to_seconds(values) -> np.ndarray:
    """Timestamps as float seconds since the Unix epoch: numpy ``datetime64`` (taken as UTC), numbers (already
    seconds) or ``datetime`` objects (aware ones by their offset, naive ones as UTC)."""
    array = np.asarray(values)
    if array.dtype.kind == "M":
        return (array.astype("datetime64[us]") - _EPOCH).astype(np.int64) / 1e6
    if array.dtype.kind in "iuf":
        return array.astype(np.float64)
    if array.dtype == object:
        flat = [_datetime_seconds(v) for v in array.ravel()]
        return np.asarray(flat, dtype=np.float64).reshape(array.shape)
    raise TypeError(f"cannot read timestamps of dtype {array.dtype}")


def _datetime_seconds(value) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return value.timestamp()
        return (np.datetime64(value.replace(tzinfo=None), "us") - _EPOCH).astype(np.int64) / 1e6
    if isinstance(value, np.datetime64):
        return (value.astype("datetime64[us]") - _EPOCH).astype(np.int64) / 1e6
    return float(value)


def build(
    order_ids,
    product_ids,
    timestamps=None,
    *,
    now=None,
    window_days: float | None = None,
    half_life_days: float | None = None,
    min_support: int = 2,
    k: int = 10,
    scoring: Scoring | None = None,
    block_rows: int = 8192,
    block_entries: int = 2_000_000,
    workers: int | None = None,
) -> TopK:
    """Each product's top-``k`` "bought together" products from order lines.

    ``order_ids``, ``product_ids``: one entry per order line (any sortable ids; repeats of a product in an order
    count once).  ``timestamps``: per line, the order's time (``datetime64``, epoch seconds or ``datetime``); needed
    for ``window_days`` and ``half_life_days``.  ``now`` (default: the latest timestamp) is the reference time: lines
    after it are ignored, ``window_days`` keeps lines of the last so many days before it, ``half_life_days`` weights
    each order by ``0.5 ** (age_days / half_life_days)``.  ``min_support``: the least number of orders that must
    contain both products for a pair to exist.  ``scoring``: see :class:`Scoring` (default ``Scoring()``).
    ``block_rows`` / ``block_entries`` bound the anchor rows and co-count entries computed at once (memory).
    ``workers``: threads computing blocks at once (default: 2, or 1 on a one-core machine); each holds one block.
    The result does not depend on it.  ``params["seconds"]`` has the time of each stage.
    """
    workers = min(2, os.cpu_count() or 1) if workers is None else max(1, int(workers))
    stage_seconds = {}
    stage_started = time.perf_counter()
    scoring = DEFAULT_SCORING if scoring is None else scoring
    if k < 1:
        raise ValueError("k must be at least 1")
    if min_support < 1:
        raise ValueError("min_support must be at least 1")
    if block_rows < 1 or block_entries < 1:
        raise ValueError("block_rows and block_entries must be positive")
    if half_life_days is not None and not half_life_days > 0:
        raise ValueError("half_life_days must be positive")
    if window_days is not None and not window_days > 0:
        raise ValueError("window_days must be positive")
    order_ids = np.asarray(order_ids).ravel()
    product_ids = np.asarray(product_ids).ravel()
    if len(order_ids) != len(product_ids):
        raise ValueError("order_ids and product_ids must have the same length")
    params = {
        "now": None,
        "window_days": window_days,
        "half_life_days": half_life_days,
        "min_support": min_support,
        "k": k,
        "scoring": scoring,
        "seconds": stage_seconds,
    }

    seconds = None
    if timestamps is not None:
        seconds = to_seconds(timestamps).ravel()
        if len(seconds) != len(order_ids):
            raise ValueError("timestamps must have one entry per line")
    elif window_days is not None or half_life_days is not None:
        raise ValueError("window_days and half_life_days need timestamps")
    if seconds is not None and len(seconds):
        now_s = float(seconds.max()) if now is None else _datetime_seconds(now)
        params["now"] = now_s
        keep = seconds <= now_s
        if window_days is not None:
            keep &= seconds >= now_s - window_days * SECONDS_PER_DAY
        if not keep.all():
            order_ids, product_ids, seconds = order_ids[keep], product_ids[keep], seconds[keep]

    if len(order_ids) == 0:
        return _empty(product_ids[:0], k, params)

    # Codes: products by sorted id (the result's row order), orders likewise; one entry per (order, product).
    stage_seconds["window"] = time.perf_counter() - stage_started
    stage_started = time.perf_counter()
    products, product_code = np.unique(product_ids, return_inverse=True)
    orders, order_code = np.unique(order_ids, return_inverse=True)
    n_products, n_orders = len(products), len(orders)
    key = np.sort(order_code.astype(np.int64) * n_products + product_code)
    first = np.empty(len(key), dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    line_order = key[first] // n_products
    line_product = (key[first] % n_products).astype(np.int32)
    per_order = np.bincount(line_order, minlength=n_orders)
    indptr = np.zeros(n_orders + 1, dtype=np.int64)
    np.cumsum(per_order, out=indptr[1:])

    weights = None
    if half_life_days is not None:
        # An order's time: its latest line (lines of one order normally share the order's time).
        order_time = np.full(n_orders, -np.inf)
        np.maximum.at(order_time, order_code, seconds)
        age_days = np.maximum(params["now"] - order_time, 0.0) / SECONDS_PER_DAY
        weights = np.exp2(-age_days / half_life_days)

    dtype = np.int32 if weights is None else np.complex64
    X = sp.csr_matrix((np.ones(len(line_product), dtype=dtype), line_product, indptr), shape=(n_orders, n_products))
    by_product = X.tocsc()  # the same arrays, product-major: Xᵀ in CSR
    Xt = sp.csr_matrix((by_product.data, by_product.indices, by_product.indptr), shape=(n_products, n_orders))
    if weights is not None:
        # Complex trick: data 1 + i*w on the anchor side makes one product give the raw co-count (real part, used
        # for min_support and as evidence) and the recency-weighted co-count (imaginary part) with one sparsity.
        Xt.data = (1.0 + 1j * weights[Xt.indices]).astype(np.complex64)
    frequency = np.diff(Xt.indptr).astype(np.int64)
    if weights is None:
        weighted_frequency = frequency.astype(np.float64)
    else:
        weighted_frequency = np.bincount(line_product, weights=weights[line_order], minlength=n_products)

    # Tie-break: the more frequently bought target first, then the lower product id.
    tie_rank = np.empty(n_products, dtype=np.uint64)
    tie_rank[np.lexsort((np.arange(n_products), -frequency))] = np.arange(n_products, dtype=np.uint64)
    tie_bits = max(1, int(n_products - 1).bit_length())
    row_bits = 64 - 31 - tie_bits
    if row_bits < 1:
        raise ValueError("too many products for the sort key")
    max_rows = min(block_rows, 1 << row_bits)

    slots = scoring.count_slots(frequency, k)
    penalty = None
    if scoring.beta:
        penalty = np.maximum(weighted_frequency, 1e-30) ** -scoring.beta

    neighbours = np.full((n_products, k), -1, dtype=np.int32)
    scores = np.zeros((n_products, k), dtype=np.float32)
    counts = np.zeros((n_products, k), dtype=np.int32)

    stage_seconds["index and matrix"] = time.perf_counter() - stage_started
    # Upper bound of each anchor row's entries: the sizes of the orders containing it.
    work = np.bincount(line_product, weights=per_order[line_order], minlength=n_products)
    def one_block(span):
        start, stop = span
        block = Xt[start:stop] @ X
        n_rows = stop - start
        raw = block.data if weights is None else np.rint(block.data.real).astype(np.int32)
        keep = np.flatnonzero(raw >= min_support)
        rows = np.searchsorted(block.indptr, keep, side="right") - 1
        cols = block.indices[keep]
        off_diagonal = cols != rows + start
        keep, rows, cols = keep[off_diagonal], rows[off_diagonal], cols[off_diagonal]
        if len(keep) == 0:
            return
        weighted = raw[keep].astype(np.float64) if weights is None else block.data.imag[keep].astype(np.float64)
        raw = raw[keep]
        del block, keep, off_diagonal
        normalised = weighted if penalty is None else weighted * penalty[cols]
        ties = tie_rank[cols]

        # Phase 1: the anchor's count slots by (weighted) co-count.
        row_slots = slots[start:stop]
        taken = np.zeros(n_rows, dtype=np.int64)
        chosen = []
        rest = None
        if row_slots.any():
            order, rank = _rank_in_rows(rows, weighted, ties, tie_bits)
            pick = rank < row_slots[rows[order]]
            entries = order[pick]
            chosen.append((entries, rank[pick]))
            taken = np.bincount(rows[entries], minlength=n_rows)
            mask = np.ones(len(rows), dtype=bool)
            mask[entries] = False
            rest = np.flatnonzero(mask)
        # Phase 2: the remaining slots by the normalised score.
        sub = slice(None) if rest is None else rest
        order, rank = _rank_in_rows(rows[sub], normalised[sub], ties[sub], tie_bits)
        entries = order if rest is None else rest[order]
        position = taken[rows[entries]] + rank
        pick = position < k
        chosen.append((entries[pick], position[pick]))

        for entries, position in chosen:
            anchor = rows[entries] + start
            neighbours[anchor, position] = cols[entries]
            scores[anchor, position] = normalised[entries]
            counts[anchor, position] = raw[entries]

    spans = list(_blocks(work, max_rows, block_entries))
    started = time.perf_counter()
    if workers > 1 and len(spans) > 1:
        # scipy's sparse product and numpy's sorts release the GIL: threads share the matrices, and blocks write
        # disjoint rows of the result.
        with ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(one_block, spans):
                pass
    else:
        for span in spans:
            one_block(span)
    stage_seconds["co-counts and top-k"] = time.perf_counter() - started

    return TopK(
        product_ids=products,
        neighbours=neighbours,
        scores=scores,
        counts=counts,
        frequency=frequency,
        n_orders=n_orders,
        params=params,
    )


def backfill(topk: TopK, fallback_ids) -> TopK:
    """A copy of ``topk`` whose empty slots are filled from ``fallback_ids`` (a ranked list of product ids, e.g. the
    bestsellers), skipping the product itself, products already in the row and ids ``topk`` does not know.  A
    serving-time fallback, not co-purchase evidence: filled slots have ``counts`` 0 and ``scores`` 0."""
    k = topk.k
    candidates = topk.index(np.asarray(fallback_ids).ravel())
    candidates = candidates[candidates >= 0]
    _, first = np.unique(candidates, return_index=True)
    candidates = candidates[np.sort(first)][: 2 * k + 1]  # enough for any row: k taken + itself + k to add
    neighbours = topk.neighbours.copy()
    filled = (neighbours >= 0).sum(axis=1)
    rows = np.flatnonzero(filled < k)
    if len(rows) == 0 or len(candidates) == 0:
        return topk
    current = neighbours[rows]
    allowed = (candidates[None, :] != rows[:, None]) & ~(current[:, :, None] == candidates[None, None, :]).any(axis=1)
    position = filled[rows][:, None] + np.cumsum(allowed, axis=1) - 1
    put = allowed & (position < k)
    r, c = np.nonzero(put)
    neighbours[rows[r], position[r, c]] = candidates[c]
    return TopK(
        product_ids=topk.product_ids,
        neighbours=neighbours,
        scores=topk.scores,
        counts=topk.counts,
        frequency=topk.frequency,
        n_orders=topk.n_orders,
        params={**topk.params, "backfilled": True},
    )


def _rank_in_rows(rows, score, ties, tie_bits):
    """Sort entries by (row, score descending, tie ascending) with one integer sort; return the permutation and each
    sorted entry's rank within its row.  ``score`` must be >= 0: the bits of a non-negative float32 sort like it."""
    bits = np.maximum(score, 0).astype(np.float32).view(np.uint32)
    descending = (_INF_BITS - np.minimum(bits, _INF_BITS)).astype(np.uint64)
    sort_key = (rows.astype(np.uint64) << np.uint64(31 + tie_bits)) | (descending << np.uint64(tie_bits)) | ties
    order = np.argsort(sort_key)  # keys are unique: (row, tie) is
    sorted_rows = rows[order]
    boundaries = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
    lengths = np.diff(np.r_[boundaries, len(order)])
    rank = np.arange(len(order)) - np.repeat(boundaries, lengths)
    return order, rank


def _blocks(work, max_rows, max_entries):
    """Consecutive [start, stop) row ranges with at most ``max_rows`` rows and (where one row allows it) at most
    ``max_entries`` summed work."""
    cumulative = np.concatenate([[0.0], np.cumsum(work, dtype=np.float64)])
    n = len(work)
    start = 0
    while start < n:
        stop = int(np.searchsorted(cumulative, cumulative[start] + max_entries, side="right")) - 1
        stop = min(max(stop, start + 1), start + max_rows, n)
        yield start, stop
        start = stop


def _empty(product_ids, k, params):
    return TopK(
        product_ids=product_ids,
        neighbours=np.full((0, k), -1, dtype=np.int32),
        scores=np.zeros((0, k), dtype=np.float32),
        counts=np.zeros((0, k), dtype=np.int32),
        frequency=np.zeros(0, dtype=np.int64),
        n_orders=0,
        params=params,
    )


# -- Similar products (the content fallback) ------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:[.,]\d+)?")


@dataclass(frozen=True)
class Similarity:
    """How :func:`similar` ranks the products like a given one.

    ``groups``
        How many of the most similar titles of the same category are looked at (the product's own title, shared by
        its variants and sizes, is always one of them).
    ``window``
        Of each of those titles' products, at most this many on each side of the anchor's price are candidates.
    ``price_weight``
        The score is ``title_similarity * exp(-price_weight * |ln(price / anchor's price)|)``: among equally
        similar titles the product closest in price comes first (0 = price does not matter; a missing price counts
        as twice or half the price).
    """

    groups: int = 8
    window: int = 8
    price_weight: float = 1.0

    def __post_init__(self):
        if self.groups < 1 or self.window < 1:
            raise ValueError("groups and window must be at least 1")
        if not (self.price_weight >= 0 and math.isfinite(self.price_weight)):
            raise ValueError(f"price_weight must be a finite number >= 0, not {self.price_weight!r}")


DEFAULT_SIMILARITY = Similarity()


@dataclass(frozen=True, eq=False)
class Similar:
    """Each product's most similar products: ``neighbours[i, j]`` is a row index (-1 = empty slot) into the arrays
    given to :func:`similar`, best first; ``scores[i, j]`` its score (0 in empty slots)."""

    neighbours: np.ndarray
    scores: np.ndarray


def words(title) -> list[str]:
    """The words of a title, lower-cased (numbers keep their decimals: "1.5", "2,5")."""
    return _WORD.findall(str(title or "").lower())


def similar(
    categories,
    titles,
    prices=None,
    *,
    popularity=None,
    candidates=None,
    k: int = 20,
    similarity: Similarity | None = None,
    block_rows: int = 4096,
) -> Similar:
    """For each product, the ``k`` most similar *other* products of its category (see :class:`Similarity`).

    Arrays, one entry per product: ``categories`` (ints; products in no category form one more category together),
    ``titles`` (strings), ``prices`` (floats, NaN or <= 0 = unknown), ``popularity`` (e.g. orders containing it: breaks
    ties, more popular first, then the lower index), ``candidates`` (bools: which products may be listed; default
    all).  Title similarity is the cosine of tf-idf vectors over the title's words, with the document frequencies
    counted within the category, so words every product of the category has ("store brand" in a category of store
    brands) weigh nothing.  Products with the same (category, title) share one vector, so the sparse product runs
    over distinct titles, not products."""
    similarity = DEFAULT_SIMILARITY if similarity is None else similarity
    if k < 1:
        raise ValueError("k must be at least 1")
    categories = np.asarray(categories, dtype=np.int64).ravel()
    n = len(categories)
    if len(titles) != n:
        raise ValueError("categories and titles must have the same length")
    prices = np.full(n, np.nan) if prices is None else np.asarray(prices, dtype=np.float64).ravel()
    popularity = np.zeros(n) if popularity is None else np.asarray(popularity, dtype=np.float64).ravel()
    candidates = np.ones(n, dtype=bool) if candidates is None else np.asarray(candidates, dtype=bool).ravel()
    if not (len(prices) == len(popularity) == len(candidates) == n):
        raise ValueError("every array needs one entry per product")
    neighbours = np.full((n, k), -1, dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    if n == 0 or not candidates.any():
        return Similar(neighbours, scores)

    # 1. Groups: one per distinct (category, words of the title).
    group_of, group_index, group_words, group_category = np.empty(n, dtype=np.int64), {}, [], []
    title_words = {}  # many products share a title: split each distinct title once
    for i, (category, title) in enumerate(zip(categories.tolist(), titles, strict=True)):
        ws = title_words.get(title)
        if ws is None:
            ws = title_words[title] = " ".join(words(title))
        key = (category, ws)
        g = group_index.get(key)
        if g is None:
            g = group_index[key] = len(group_words)
            group_words.append(set(ws.split()))
            group_category.append(category)
        group_of[i] = g
    n_groups = len(group_words)
    group_size = np.bincount(group_of, minlength=n_groups)

    # 2. tf-idf over (category, word) terms; document frequency = products of the category with the word.
    vocabulary, rows, cols = {}, [], []
    for g, (ws, category) in enumerate(zip(group_words, group_category, strict=True)):
        for w in ws:
            rows.append(g)
            cols.append(vocabulary.setdefault((category, w), len(vocabulary)))
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    term_category = np.empty(len(vocabulary), dtype=np.int64)
    if vocabulary:
        term_category[np.fromiter(vocabulary.values(), np.int64, len(vocabulary))] = [c for c, _ in vocabulary]
    _, category_code = np.unique(categories, return_inverse=True)
    category_size = np.bincount(category_code)
    category_size_of = dict(zip(categories.tolist(), category_size[category_code].tolist(), strict=True))
    df = np.bincount(cols, weights=group_size[rows], minlength=len(vocabulary))
    sizes = np.array([category_size_of[c] for c in term_category.tolist()], dtype=np.float64)
    idf = np.log((1.0 + sizes) / (1.0 + df)) if len(vocabulary) else np.zeros(0)
    informative = idf[cols] > 0
    tfidf = sp.csr_matrix((idf[cols[informative]], (rows[informative], cols[informative])),
                          shape=(n_groups, len(vocabulary)))
    norm = np.sqrt(np.asarray(tfidf.multiply(tfidf).sum(axis=1)).ravel())
    tfidf = (sp.diags(np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1), 0.0)) @ tfidf).tocsr()
    has_candidate = np.bincount(group_of[candidates], minlength=n_groups) > 0
    target_side = (sp.diags(has_candidate.astype(np.float64)) @ tfidf).T.tocsc()

    # 3. Each group's most similar groups that have candidates (its own always, with similarity 1).
    n_top = similarity.groups
    group_bits = max(1, int(n_groups - 1).bit_length())
    block_rows = min(block_rows, 1 << max(1, 64 - 31 - max(group_bits, int(n - 1).bit_length())))
    top_group = np.full((n_groups, n_top), -1, dtype=np.int64)
    top_sim = np.zeros((n_groups, n_top), dtype=np.float64)
    for start in range(0, n_groups, block_rows):
        stop = min(start + block_rows, n_groups)
        block = (tfidf[start:stop] @ target_side).tocoo()
        r, c, v = block.row.astype(np.int64), block.col.astype(np.int64), block.data
        keep = (c != r + start) & (v > 0)
        own = np.arange(start, stop)
        own_ok = has_candidate[own]
        r = np.r_[r[keep], own[own_ok] - start]
        c = np.r_[c[keep], own[own_ok]]
        v = np.r_[v[keep], np.ones(int(own_ok.sum()))]
        order, rank = _rank_in_rows(r, v, c.astype(np.uint64), group_bits)
        pick = rank < n_top
        top_group[r[order[pick]] + start, rank[pick]] = c[order[pick]]
        top_sim[r[order[pick]] + start, rank[pick]] = v[order[pick]]

    # 4. Candidates: per (product, similar group), the group's candidates nearest to the product's price.
    known = np.isfinite(prices) & (prices > 0)
    log_price = np.where(known, np.log(np.where(known, prices, 1.0)), 0.0)
    span = float(log_price.max() - log_price.min()) if known.any() else 0.0
    unit = (log_price - (log_price.min() if known.any() else 0.0)) / (2.0 * span + 1.0)  # in [0, 0.5)
    members = np.flatnonzero(candidates)
    members = members[np.lexsort((members, unit[members], group_of[members]))]
    member_key = group_of[members] + unit[members]
    group_start = np.searchsorted(group_of[members], np.arange(n_groups + 1))

    tie = np.empty(n, dtype=np.uint64)
    tie[np.lexsort((np.arange(n), -popularity))] = np.arange(n, dtype=np.uint64)
    tie_bits = max(1, int(n - 1).bit_length())
    window = similarity.window
    for start in range(0, n, block_rows):
        anchor = np.arange(start, min(start + block_rows, n))
        a = np.repeat(anchor, n_top)
        h = top_group[group_of[anchor]].ravel()
        s = top_sim[group_of[anchor]].ravel()
        valid = h >= 0
        a, h, s = a[valid], h[valid], s[valid]
        pos = np.searchsorted(member_key, h + unit[a])
        lo = np.maximum(group_start[h], pos - window)
        hi = np.minimum(group_start[h + 1], pos + window)
        count = np.maximum(hi - lo, 0)
        a, s = np.repeat(a, count), np.repeat(s, count)
        offsets = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        target = members[np.repeat(lo, count) + offsets]
        keep = target != a
        a, s, target = a[keep], s[keep], target[keep]
        distance = np.where(known[a] & known[target], np.abs(log_price[a] - log_price[target]), math.log(2.0))
        score = s * np.exp(-similarity.price_weight * distance)
        if not len(a):
            continue
        order, rank = _rank_in_rows(a - start, score, tie[target], tie_bits)
        pick = order[rank < k]
        neighbours[a[pick], rank[rank < k]] = target[pick]
        scores[a[pick], rank[rank < k]] = score[pick]
    return Similar(neighbours, scores)
