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
product; dividing by the target's popularity (``count / freq(target) ** beta``) spreads the lists over the catalogue
but costs hit rate everywhere.  The hit rate lives in the lists of frequently bought products (they are the anchors
shoppers see most), while most distinct products would come from the lists of the many less frequent ones.  So the
default fills the first ``round(base_slots + slots_per_decade * log10(1 + freq(anchor)))`` slots of a list by raw
co-count and the remaining slots by ``count / freq(target) ** beta``: a bestseller's list is (almost) all co-count, a
niche product's list is mostly popularity-normalised.  ``bench/related_quality.py`` measures the trade-off on the
Complete Journey data against the one-knob blends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import scipy.sparse as sp

SECONDS_PER_DAY = 86400.0
_EPOCH = np.datetime64(0, "us")
_INF_BITS = np.uint32(0x7F800000)  # float32 +inf: the largest bit pattern of a non-negative, non-NaN float32


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

    beta: float = 0.2
    base_slots: float = 1.0
    slots_per_decade: float = 4.0

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
        wanted = np.asarray(product_ids)
        if len(self.product_ids) == 0:
            return np.full(wanted.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.product_ids, wanted)
        pos = np.minimum(pos, len(self.product_ids) - 1)
        return np.where(self.product_ids[pos] == wanted, pos, -1).astype(np.int64)

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
) -> TopK:
    """Each product's top-``k`` "bought together" products from order lines.

    ``order_ids``, ``product_ids``: one entry per order line (any sortable ids; repeats of a product in an order
    count once).  ``timestamps``: per line, the order's time (``datetime64``, epoch seconds or ``datetime``); needed
    for ``window_days`` and ``half_life_days``.  ``now`` (default: the latest timestamp) is the reference time: lines
    after it are ignored, ``window_days`` keeps lines of the last so many days before it, ``half_life_days`` weights
    each order by ``0.5 ** (age_days / half_life_days)``.  ``min_support``: the least number of orders that must
    contain both products for a pair to exist.  ``scoring``: see :class:`Scoring` (default ``Scoring()``).
    ``block_rows`` / ``block_entries`` bound the anchor rows and co-count entries computed at once (memory).
    """
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

    # Upper bound of each anchor row's entries: the sizes of the orders containing it.
    work = np.bincount(line_product, weights=per_order[line_order], minlength=n_products)
    for start, stop in _blocks(work, max_rows, block_entries):
        block = Xt[start:stop] @ X
        n_rows = stop - start
        raw = block.data if weights is None else np.rint(block.data.real).astype(np.int32)
        keep = np.flatnonzero(raw >= min_support)
        rows = np.searchsorted(block.indptr, keep, side="right") - 1
        cols = block.indices[keep]
        off_diagonal = cols != rows + start
        keep, rows, cols = keep[off_diagonal], rows[off_diagonal], cols[off_diagonal]
        if len(keep) == 0:
            continue
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
