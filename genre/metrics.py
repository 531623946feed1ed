"""Ranking and beyond-accuracy metrics: pure, vectorised functions, one per metric.

Accuracy metrics take a top-k index matrix (one row per user, best first) and a relevance CSR
whose row ``i`` holds user ``i``'s held-out items, and return one value per user; the caller
averages (uniformly over users, docs/benchmark.md). Relevance is binary; a user with no relevant
item scores 0 on every ranking metric (evaluation never includes such users).

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> top = np.array([[3, 1, 2]])
>>> relevant = sp.csr_matrix(np.array([[0, 1, 0, 0, 1]]))
>>> recall_at_k(top, relevant, 3).tolist(), mrr_at_k(top, relevant, 3).tolist()
([0.5], [0.5])
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


# ---------------------------------------------------------------------------- relevance
def _canonical(relevant: sp.spmatrix) -> sp.csr_matrix:
    """A CSR copy with sorted, unique, nonzero entries (the caller's matrix is left alone)."""
    csr = sp.csr_matrix(relevant, copy=True)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    return csr


def hits_at_k(top_items: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """Boolean (n_users, k) matrix: is the item at each rank relevant to its user?

    Looks each (row, item) pair up in the CSR's sorted keys, so it costs O(n·k·log nnz)
    instead of densifying the relevance matrix.
    """
    top = np.asarray(top_items)[:, :k]
    csr = _canonical(relevant)
    n_rows, n_items = csr.shape
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(csr.indptr))
    keys = rows * n_items + csr.indices
    wanted = np.arange(len(top), dtype=np.int64)[:, None] * n_items + top
    if len(keys) == 0:
        return np.zeros(top.shape, dtype=bool)
    found = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return keys[found] == wanted


def n_relevant(relevant: sp.spmatrix) -> np.ndarray:
    """Number of distinct relevant items per row."""
    return np.diff(_canonical(relevant).indptr)


def _discounts(k: int) -> np.ndarray:
    """1 / log2(r + 1) for ranks r = 1..k."""
    return 1.0 / np.log2(np.arange(2, k + 2))


# ---------------------------------------------------------------------------- accuracy@k
def recall_at_k(top_items: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """|top-k ∩ relevant| / |relevant| per user."""
    hits = hits_at_k(top_items, relevant, k).sum(axis=1)
    return hits / np.maximum(n_relevant(relevant), 1)


def precision_at_k(top_items: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """|top-k ∩ relevant| / k per user."""
    return hits_at_k(top_items, relevant, k).sum(axis=1) / float(k)


def ndcg_at_k(top_items: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """Binary-relevance NDCG: DCG = Σ rel_r / log2(r + 1); IDCG over min(|relevant|, k) hits."""
    hits = hits_at_k(top_items, relevant, k)
    discounts = _discounts(k)
    dcg = hits @ discounts[: hits.shape[1]]
    ideal_hits = np.minimum(n_relevant(relevant), k)
    ideal = np.r_[0.0, np.cumsum(discounts)][ideal_hits]
    return np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)


def hit_rate_at_k(top_items: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """1 if any of the top-k is relevant, else 0."""
    return hits_at_k(top_items, relevant, k).any(axis=1).astype(np.float64)


def mrr_at_k(top_items: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """1 / rank of the first relevant item within the top-k (0 if none)."""
    hits = hits_at_k(top_items, relevant, k)
    first = hits.argmax(axis=1)
    return np.where(hits.any(axis=1), 1.0 / (first + 1), 0.0)


def map_at_k(top_items: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """Average precision@k: Σ over hit ranks r of precision@r, divided by min(|relevant|, k)."""
    hits = hits_at_k(top_items, relevant, k)
    precision = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    total = (precision * hits).sum(axis=1)
    return total / np.maximum(np.minimum(n_relevant(relevant), k), 1)


# ---------------------------------------------------------------------------- AUC
def auc(scores: np.ndarray, relevant: sp.spmatrix, seen: sp.spmatrix | None = None) -> np.ndarray:
    """Per-user ROC AUC of full score rows: P(relevant scored above non-relevant), ties ½.

    Items in ``seen`` (the user's training items) are left out of both sides. Computed as the
    Mann–Whitney rank sum: one sort per row, then each positive's average rank by binary
    search (looking every item up among the positives instead is slower: random probes).
    A user with no relevant or no non-relevant item left gets NaN (AUC is undefined there).
    """
    values = np.array(scores, dtype=np.float32, copy=True)  # the precision top_k ranks at
    if seen is not None:
        values[sp.csr_matrix(seen).nonzero()] = np.nan  # np.sort puts NaN last: seen items drop out
    n_valid = (~np.isnan(values)).sum(axis=1)
    ordered = np.sort(values, axis=1)
    csr = _canonical(relevant)
    result = np.full(len(values), np.nan)
    for r in range(len(values)):
        positive = values[r, csr.indices[csr.indptr[r]:csr.indptr[r + 1]]]
        positive = positive[~np.isnan(positive)]
        n_pos, n_neg = len(positive), n_valid[r] - len(positive)
        if n_pos == 0 or n_neg == 0:
            continue
        row = ordered[r, : n_valid[r]]
        below = np.searchsorted(row, positive, side="left")
        upto = np.searchsorted(row, positive, side="right")
        rank_sum = (below + (upto - below + 1) / 2.0).sum()  # average 1-based ranks
        result[r] = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return result


def auc_sampled(values: np.ndarray, indptr: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Per-user AUC over each user's positives and a sample of their negatives: P(pos > neg), ties ½.

    Row ``r`` is ``values[indptr[r]:indptr[r + 1]]`` with ``positive`` flags alike. With every
    negative present it equals ``auc``; with a uniform sample of negatives it is an unbiased
    estimate of it. NaN where a row has no positive or no negative. (A loop over rows of a
    small sort each beat one global two-key sort, measured at 20k users × 100 items.)
    """
    result = np.full(len(indptr) - 1, np.nan)
    for r in range(len(result)):
        row, flags = values[indptr[r]:indptr[r + 1]], positive[indptr[r]:indptr[r + 1]]
        pos, neg = row[flags], np.sort(row[~flags])
        if len(pos) == 0 or len(neg) == 0:
            continue
        below = np.searchsorted(neg, pos, side="left")
        upto = np.searchsorted(neg, pos, side="right")
        result[r] = (below + (upto - below) / 2.0).sum() / (len(pos) * len(neg))
    return result


# ---------------------------------------------------------------------------- beyond accuracy
def coverage_at_k(top_items: np.ndarray, n_candidates: int, k: int) -> float:
    """Catalog coverage: |union of all users' top-k| / number of rankable items."""
    return float(len(np.unique(np.asarray(top_items)[:, :k]))) / float(n_candidates)


def intra_list_diversity_at_k(top_items: np.ndarray, item_vectors: np.ndarray | sp.spmatrix,
                              k: int) -> np.ndarray:
    """Mean pairwise (1 − cosine) among each user's top-k items' vectors.

    Uses Σ_{i≠j} cos(v_i, v_j) = ‖Σ v̂_i‖² − Σ‖v̂_i‖², so it needs one sum per user instead of a
    k × k Gram matrix; works for dense arrays and scipy sparse rows alike. A zero vector has
    cosine 0 with everything. Lists of fewer than two items get 0.
    """
    top = np.asarray(top_items)[:, :k]
    n_users, width = top.shape
    if width < 2:
        return np.zeros(n_users)
    if sp.issparse(item_vectors):
        vectors = sp.csr_matrix(item_vectors, dtype=np.float64)
        norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel())
        unit = sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ vectors
    else:
        vectors = np.asarray(item_vectors, dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1)
        unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    chosen = unit[top.ravel()]
    owner = sp.csr_matrix((np.ones(top.size), (np.repeat(np.arange(n_users), width), np.arange(top.size))),
                          shape=(n_users, top.size))
    summed = owner @ chosen
    if sp.issparse(summed):  # squared norms straight from the sparse sums: no dense users × dim copy
        squared = np.asarray(summed.multiply(summed).sum(axis=1)).ravel()
    else:
        squared = (np.asarray(summed) ** 2).sum(axis=1)
    self_sim = (norms[top] > 0).sum(axis=1)
    pair_sim = (squared - self_sim) / (width * (width - 1))
    return np.clip(1.0 - pair_sim, 0.0, 2.0)  # 1 − cosine lies in [0, 2]; clip rounding noise


def novelty_at_k(top_items: np.ndarray, popularity: np.ndarray, k: int) -> np.ndarray:
    """Mean self-information −log2(share) of each user's top-k items.

    ``share`` is the item's add-one-smoothed share of training interactions,
    (count + 1) / (Σ counts + n_items), so never-seen (cold) items stay finite.
    """
    counts = np.asarray(popularity, dtype=np.float64)
    share = (counts + 1.0) / (counts.sum() + len(counts))
    return (-np.log2(share))[np.asarray(top_items)[:, :k]].mean(axis=1)


def popularity_bias_at_k(top_items: np.ndarray, popularity: np.ndarray, k: int) -> np.ndarray:
    """Mean training popularity of each user's top-k items, divided by the largest popularity."""
    counts = np.asarray(popularity, dtype=np.float64)
    peak = counts.max() if len(counts) else 0.0
    scaled = counts / peak if peak > 0 else np.zeros_like(counts)
    return scaled[np.asarray(top_items)[:, :k]].mean(axis=1)
