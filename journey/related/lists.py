"""The lists the shop shows, assembled from the computed pairs, the store's rules and the fallbacks.

One function, :func:`assemble`, builds every product's list; the rebuild (``services.rebuild``) stores its result and
the offline evaluation (``evaluation.shipped_lists``, ``bench/related_quality.py``) measures exactly the same lists.
Pure numpy + Python, no Django: the caller describes the catalogue (:class:`Catalogue`) and the rules
(:class:`Rules`).

What goes into a list of ``size`` (10) slots, in order (see docs/related.md for why, with the measured trade-off):

1. Oscar's hand-picked recommendations, then the store's pins.
2. **Popular complements** — ``round(base_slots + slots_per_decade * log10(1 + orders with the anchor))`` slots
   (the engine's :class:`~journey.related.engine.Scoring`): the pairs bought together most often (at least
   ``min_support`` orders, never a pair seen once), made up with the shop's best sellers when the product has too few
   pairs.  A best seller is bought with almost anything, so for a rarely bought product it is the likeliest
   complement.
3. **Distinctive complements** — up to ``extra_evidence`` (2) more pairs, ranked by ``co_count / freq(target) **
   beta``: what is bought with *this* product rather than with everything.
4. **Similar products** — the rest: products of the same category with the most similar title, nearest in price
   first (:func:`~journey.related.engine.similar`); then the category's best sellers, then the shop's.

Never listed: the product itself, what is not buyable, what the store suppressed (everywhere or for this product).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import engine

COMPUTE_MARGIN = 10  # the engine computes more than the list size: some targets are filtered out afterwards

# Where an entry came from: the values of ``journey.related.models.Source`` (a test checks), repeated here so that
# this module (and the offline evaluation) runs without Django.
MANUAL, PINNED, COMPUTED, FALLBACK_CATEGORY, FALLBACK_BESTSELLER, SIMILAR = 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class ListPolicy:
    """How the slots of a list are shared out (see the module docstring)."""

    size: int = 10
    extra_evidence: int = 2  # distinctive complements after the popular ones
    bestsellers_make_up_popular: bool = True  # fill the popular-complement slots with best sellers when pairs are few
    similar: bool = True  # fill the rest with similar products of the category (False: category best sellers)
    similarity: engine.Similarity = engine.DEFAULT_SIMILARITY

    def __post_init__(self):
        if self.size < 1:
            raise ValueError("size must be at least 1")
        if self.extra_evidence < 0:
            raise ValueError("extra_evidence must be >= 0")


DEFAULT_POLICY = ListPolicy()


@dataclass(eq=False)
class Catalogue:
    """The products that get a list, one entry each: ``product_ids`` (sorted ascending), ``buyable`` (may be
    recommended), ``categories`` (one int per product, -1 = none), ``titles``, ``prices`` (NaN = unknown)."""

    product_ids: np.ndarray
    buyable: np.ndarray
    categories: np.ndarray
    titles: list
    prices: np.ndarray

    def __post_init__(self):
        self.product_ids = np.asarray(self.product_ids, dtype=np.int64).ravel()
        n = len(self.product_ids)
        self.buyable = np.asarray(self.buyable, dtype=bool).ravel()
        self.categories = np.asarray(self.categories, dtype=np.int64).ravel()
        self.prices = np.asarray(self.prices, dtype=np.float64).ravel()
        self.titles = list(self.titles)
        if not (len(self.buyable) == len(self.categories) == len(self.titles) == len(self.prices) == n):
            raise ValueError("every catalogue array needs one entry per product")
        if n > 1 and not (np.diff(self.product_ids) > 0).all():
            raise ValueError("product_ids must be sorted ascending without repeats")

    def __len__(self):
        return len(self.product_ids)

    def index(self, product_ids) -> np.ndarray:
        """Row indices of ``product_ids`` (-1 for products not in the catalogue)."""
        return engine.index_of(self.product_ids, product_ids)


@dataclass
class Rules:
    """The store's rules by product id: ``manual`` and ``pins`` (anchor → ranked ids), ``pairs`` (anchor → ids never
    shown with it), ``everywhere`` (ids never recommended)."""

    manual: dict = field(default_factory=dict)
    pins: dict = field(default_factory=dict)
    pairs: dict = field(default_factory=dict)
    everywhere: set = field(default_factory=set)


@dataclass(eq=False)
class Lists:
    """Every catalogue product's list.  ``neighbours[i, j]`` is a row index into ``product_ids`` (-1 = empty),
    ``sources``/``scores``/``evidence`` per slot (score: the co-purchase score of computed entries, 0 otherwise;
    evidence: orders with both).  Reads like :class:`~journey.related.engine.TopK` for the evaluation."""

    product_ids: np.ndarray
    neighbours: np.ndarray
    sources: np.ndarray
    scores: np.ndarray
    evidence: np.ndarray

    @property
    def k(self) -> int:
        return self.neighbours.shape[1]

    def __len__(self):
        return len(self.product_ids)

    def index(self, product_ids) -> np.ndarray:
        return engine.index_of(self.product_ids, product_ids)

    def related(self, product_id) -> list:
        """(related product id, source) of one product's list, in order."""
        i = int(self.index([product_id])[0])
        if i < 0:
            return []
        row = self.neighbours[i]
        keep = row >= 0
        return list(zip(self.product_ids[row[keep]].tolist(), self.sources[i][keep].tolist(), strict=True))

    def columns(self, kind: int):
        """Parallel arrays (product, related, kind, rank from 1, score, evidence, source) for the bulk write."""
        anchor, slot = np.nonzero(self.neighbours >= 0)
        n = len(anchor)
        return (self.product_ids[anchor], self.product_ids[self.neighbours[anchor, slot]],
                np.full(n, int(kind), np.int64), (slot + 1).astype(np.int64),
                self.scores[anchor, slot].astype(np.float64), self.evidence[anchor, slot].astype(np.int64),
                self.sources[anchor, slot].astype(np.int64))


def assemble(top: engine.TopK, catalogue: Catalogue, rules: Rules | None = None,
             policy: ListPolicy | None = None) -> Lists:
    """Every catalogue product's list (see the module docstring).  ``top`` is the engine's result on the order
    history (computed with ``k >= policy.size``; its ``params["scoring"]`` says how many leading slots of each row
    are ranked by co-count)."""
    policy = DEFAULT_POLICY if policy is None else policy
    rules = Rules() if rules is None else rules
    size, n = policy.size, len(catalogue)
    cat_of = catalogue.index  # product id -> catalogue row

    # Which rows may be recommended, and each row's popularity (orders containing it in the training history).
    allowed = catalogue.buyable.copy()
    if rules.everywhere:
        blocked = cat_of(np.fromiter(rules.everywhere, np.int64, len(rules.everywhere)))
        allowed[blocked[blocked >= 0]] = False
    top_row = top.index(catalogue.product_ids) if len(top) else np.full(n, -1, dtype=np.int64)
    known = top_row >= 0
    popularity = np.zeros(n, dtype=np.int64)
    popularity[known] = top.frequency[top_row[known]]
    by_popularity = np.lexsort((np.arange(n), -popularity))  # most popular first, then the lower id

    # The computed pairs, as catalogue rows; how many leading entries of each row are ranked by co-count.
    evidence_rows = np.full((n, top.k), -1, dtype=np.int64)
    evidence_scores = np.zeros((n, top.k), dtype=np.float32)
    evidence_counts = np.zeros((n, top.k), dtype=np.int64)
    popular_slots = np.zeros(n, dtype=np.int64)
    if known.any():
        target_row = np.r_[cat_of(top.product_ids), -1]  # index -1 (empty slot) maps to -1
        rows = top_row[known]
        evidence_rows[known] = target_row[top.neighbours[rows]]
        evidence_scores[known] = top.scores[rows]
        evidence_counts[known] = top.counts[rows]
        scoring = top.params.get("scoring") or engine.DEFAULT_SCORING
        popular_slots[known] = scoring.count_slots(top.frequency[rows], top.k)
    popular_slots = np.minimum(popular_slots, size)

    # Fallback sources: the shop's best sellers, each category's best sellers, each product's similar products.
    depth = size + 1
    ranked = by_popularity[allowed[by_popularity]]
    best = ranked[popularity[ranked] > 0][: depth * 3]
    if len(best) < depth:  # a shop without (enough) orders: the lowest ids make up the list
        best = np.r_[best, ranked[popularity[ranked] == 0][: depth - len(best)]]
    # Each category's best sellers, as one row per category ("no category" is not a category to fill from).
    categories, category_code = np.unique(catalogue.categories, return_inverse=True)
    category_code = category_code.ravel()
    category_rows = np.full((len(categories) + 1, depth * 2), -1, dtype=np.int64)  # the extra last row: empty
    member_code = category_code[ranked]
    order = np.argsort(member_code, kind="stable")  # by category, most popular first within each
    member_code, members = member_code[order], ranked[order]
    starts = np.searchsorted(member_code, np.arange(len(categories)))
    rank = np.arange(len(members)) - starts[member_code]
    keep = (rank < depth * 2) & (categories[member_code] >= 0)
    category_rows[member_code[keep], rank[keep]] = members[keep]
    category_code = np.where(catalogue.categories >= 0, category_code, len(categories))
    similar_rows = None
    if policy.similar:
        similar_rows = engine.similar(
            catalogue.categories, catalogue.titles, catalogue.prices, popularity=popularity, candidates=allowed,
            k=size + COMPUTE_MARGIN, similarity=policy.similarity,
        ).neighbours.astype(np.int64)

    lists = _Builder(n, size, allowed, _pair_keys(rules.pairs, cat_of, n))
    if rules.manual or rules.pins:
        lists.fill(_padded(_rows_of(rules.manual, cat_of), n), MANUAL, size)
        lists.fill(_padded(_rows_of(rules.pins, cat_of), n), PINNED, size)
    # Popular complements: the engine's leading count-ranked entries, made up with best sellers.
    leading = np.arange(top.k)[None, :] < popular_slots[:, None]
    limit = np.minimum(lists.count + popular_slots, size)
    lists.fill(np.where(leading, evidence_rows, -1), COMPUTED, limit, evidence_scores, evidence_counts)
    best_rows = np.asarray(best, dtype=np.int64)[None, :]
    if policy.bestsellers_make_up_popular:
        lists.fill(best_rows, FALLBACK_BESTSELLER, limit)
    # Distinctive complements: the engine's normalised-score entries.
    limit = np.minimum(lists.count + policy.extra_evidence, size)
    lists.fill(np.where(leading, -1, evidence_rows), COMPUTED, limit, evidence_scores, evidence_counts)
    # The rest: similar products, then the category's best sellers, then the shop's.
    if similar_rows is not None:
        lists.fill(similar_rows, SIMILAR, size)
    lists.fill(category_rows[category_code], FALLBACK_CATEGORY, size)
    lists.fill(best_rows, FALLBACK_BESTSELLER, size)
    return Lists(catalogue.product_ids, lists.neighbours, lists.sources, lists.scores, lists.evidence)


class _Builder:
    """The lists being filled, all rows at once: each :meth:`fill` appends, per row, the candidates of one source (in
    their order) that are allowed and not yet listed, up to that row's limit."""

    def __init__(self, n, size, allowed, pair_keys):
        self.n, self.size, self.allowed, self.pair_keys = n, size, allowed, pair_keys
        self.neighbours = np.full((n, size), -1, dtype=np.int32)
        self.sources = np.zeros((n, size), dtype=np.int8)
        self.scores = np.zeros((n, size), dtype=np.float32)
        self.evidence = np.zeros((n, size), dtype=np.int64)
        self.count = np.zeros(n, dtype=np.int64)

    def fill(self, candidates, source, limit, scores=None, evidence=None):
        n = self.n
        if n == 0 or candidates.shape[1] == 0:
            return
        candidates = np.broadcast_to(candidates.astype(np.int32, copy=False), (n, candidates.shape[1]))
        anchor = np.arange(n, dtype=np.int32)[:, None]
        ok = (candidates >= 0) & (candidates != anchor)
        ok &= self.allowed[np.where(ok, candidates, 0)]
        for slot in range(self.size):  # not listed yet (one slot at a time: no (n, m, size) temporary)
            if not self.count.any() or slot >= self.count.max():
                break
            ok &= candidates != self.neighbours[:, slot : slot + 1]
        if len(self.pair_keys):
            ok &= ~np.isin(anchor.astype(np.int64) * n + candidates, self.pair_keys)
        position = self.count[:, None] + np.cumsum(ok, axis=1) - 1
        put = ok & (position < np.broadcast_to(np.asarray(limit), (n,))[:, None])
        rows, cols = np.nonzero(put)
        slots = position[rows, cols]
        self.neighbours[rows, slots] = candidates[rows, cols]
        self.sources[rows, slots] = source
        if scores is not None:
            self.scores[rows, slots] = scores[rows, cols]
            self.evidence[rows, slots] = evidence[rows, cols]
        self.count += put.sum(axis=1)


def _pair_keys(pairs, cat_of, n):
    keys = [a * n + r for a, rows in _rows_of(pairs, cat_of).items() for r in rows]
    return np.unique(np.asarray(keys, dtype=np.int64))


def _padded(mapping, n):
    """{row: [rows]} as an (n, longest) matrix padded with -1."""
    width = max((len(v) for v in mapping.values()), default=0)
    out = np.full((n, width), -1, dtype=np.int64)
    for row, targets in mapping.items():
        out[row, : len(targets)] = targets
    return out


def _rows_of(mapping, cat_of):
    """{anchor id: [ids]} → {anchor row: [rows]} (ids outside the catalogue dropped, order kept)."""
    out = {}
    for anchor, targets in mapping.items():
        a = int(cat_of([anchor])[0])
        if a < 0:
            continue
        rows = cat_of(np.fromiter(targets, np.int64, len(targets))) if targets else np.zeros(0, np.int64)
        out[a] = [r for r in rows.tolist() if r >= 0]
    return out
