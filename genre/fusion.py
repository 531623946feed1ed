"""Score normalisation, weighted fusion and top-k selection on dense score blocks.

Algorithms hand back dense score blocks for a batch of users; these functions normalise
them once, when ``genre.store`` keeps each user's candidates. Mixing afterwards happens on
the store (sparse), so changing a mix weight never re-scores or refits a model.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def mask_seen(scores: np.ndarray, seen: sp.spmatrix | None) -> np.ndarray:
    """Copy of ``scores`` (float32) with each user's ``seen`` items set to -inf."""
    masked = np.array(scores, dtype=np.float32, copy=True)
    if seen is not None and seen.nnz:
        rows, cols = sp.csr_matrix(seen).nonzero()
        masked[rows, cols] = -np.inf
    return masked


def top_k(scores: np.ndarray, k: int, seen: sp.spmatrix | None = None) -> np.ndarray:
    """Indices of the ``k`` best items per row, best first; ties go to the lower item index.

    ``seen`` (same shape as ``scores``, nonzero = already interacted) is excluded. The
    tie-break is BENCHMARK.md's; ``argpartition`` alone would break ties arbitrarily, so rows
    where the k-th value is tied beyond the k slots are resolved explicitly (the others, almost
    all rows of real scores, are simply sorted: no Python loop over users).
    """
    # read only below: without seen items there is nothing to mask, so no copy
    masked = mask_seen(scores, seen) if seen is not None else np.asarray(scores, dtype=np.float32)
    n_rows, n_items = masked.shape
    k = int(min(k, n_items))
    if k <= 0 or n_rows == 0:
        return np.empty((n_rows, max(k, 0)), dtype=np.int64)
    # the k-th best value per row (a value partition: no n_items-wide index array), then the
    # items at or above it; a row is settled when exactly k items are (no tie crowds the cut)
    kth = np.partition(masked, n_items - k, axis=1)[:, n_items - k:n_items - k + 1]
    rows, cols = np.nonzero(masked >= kth)
    counts = np.bincount(rows, minlength=n_rows)
    settled = np.flatnonzero(counts == k)
    crowded = np.flatnonzero(counts > k)
    starts = np.cumsum(counts) - counts
    result = np.empty((n_rows, k), dtype=np.int64)
    chosen = cols[starts[settled][:, None] + np.arange(k)]
    values = masked[settled[:, None], chosen]
    result[settled] = np.take_along_axis(chosen, np.lexsort((chosen, -values), axis=1), axis=1)
    for r in crowded:
        row = masked[r]
        above = np.flatnonzero(row > kth[r, 0])
        ties = np.flatnonzero(row == kth[r, 0])[: k - len(above)]
        chosen = np.concatenate([above, ties])
        result[r] = chosen[np.lexsort((chosen, -row[chosen]))]
    return result


def normalize(scores: np.ndarray, method: str = "minmax", seen: sp.spmatrix | None = None) -> np.ndarray:
    """Per-user normalised copy of ``scores`` so that algorithms on different scales can be mixed.

    Statistics are taken over each user's *unseen* items (seen items are excluded from the
    ranking anyway and would otherwise dominate, e.g. EASE's scores of history items).
    ``"minmax"`` maps to [0, 1]; ``"zscore"`` to mean 0 / std 1; ``"rank"`` to the item's rank
    share in [0, 1] (best = 1); ``"none"`` leaves scores as they are.
    """
    block = np.asarray(scores, dtype=np.float32)
    if method == "none":
        return block.copy()
    masked = mask_seen(block, seen)
    candidates = np.isfinite(masked)
    if method == "rank":
        order = np.argsort(np.where(candidates, masked, -np.inf), axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(block.shape[1])[None, :], axis=1)
        return (ranks / max(block.shape[1] - 1, 1)).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        # reductions restricted to the candidates with ``where=``: no NaN-filled copies
        if method == "minmax":
            low = np.min(masked, axis=1, keepdims=True, where=candidates, initial=np.inf)
            high = np.max(masked, axis=1, keepdims=True, where=candidates, initial=-np.inf)
            low[~np.isfinite(low)] = np.nan  # a row without candidates normalises to 0
            span = high - low
            out = (block - low) / np.where(span > 0, span, 1.0)
        elif method == "zscore":
            mean = np.mean(masked, axis=1, keepdims=True, where=candidates)
            std = np.std(masked, axis=1, keepdims=True, where=candidates)
            out = (block - mean) / np.where(std > 0, std, 1.0)
        else:
            raise ValueError(f"unknown normalisation {method!r}; use minmax, zscore, rank or none")
    if not np.isfinite(out).all():  # one check instead of nan_to_num's passes over every block
        out = np.nan_to_num(out, nan=0.0)
    return out.astype(np.float32, copy=False)


def soften(scores: np.ndarray, temperature: float | None) -> np.ndarray:
    """Per-user softmax with ``temperature`` (None = unchanged): low T sharpens, high T flattens."""
    if temperature is None:
        return scores
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    shifted = (scores - scores.max(axis=1, keepdims=True)) / temperature
    weights = np.exp(shifted)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def normalise_rows(raw: np.ndarray, seen: sp.spmatrix | None, candidates: np.ndarray | None,
                   config) -> np.ndarray:
    """``normalize`` then ``soften`` (``config``: a FusionConfig) over each user's rankable items.

    With ``candidates`` (a cold-start split) statistics are taken over those items only and
    every other item gets 0: they are never ranked.
    """
    if candidates is None:
        return soften(normalize(raw, config.normalization, seen), config.temperature)
    sub_seen = seen[:, candidates] if seen is not None else None
    sub = soften(normalize(raw[:, candidates], config.normalization, sub_seen), config.temperature)
    block = np.zeros(raw.shape, dtype=np.float32)
    block[:, candidates] = sub
    return block


def contributions(blocks: dict[str, np.ndarray], weights: dict[str, float]) -> dict[str, np.ndarray]:
    """Each algorithm's weighted share of the fused score (they sum to ``fuse``'s output)."""
    return {name: np.float32(weights.get(name, 0.0)) * block for name, block in blocks.items()}


def fuse(blocks: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted sum of already-normalised score blocks (same shape); weights need not sum to 1."""
    if not blocks:
        raise ValueError("nothing to fuse: no score blocks")
    unknown = set(weights) - set(blocks)
    if unknown:
        raise ValueError(f"weights name algorithms without scores: {sorted(unknown)}")
    shape = next(iter(blocks.values())).shape
    total = np.zeros(shape, dtype=np.float32)
    for name, block in blocks.items():
        weight = float(weights.get(name, 0.0))
        if weight:
            total += np.float32(weight) * block
    return total
