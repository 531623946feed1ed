"""Score normalization, weighted fusion and top-k selection on dense score blocks.

Algorithms hand back dense score blocks for a batch of users; these functions normalize
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
    tie-break is docs/benchmark.md's. ``torch.topk`` picks the k + 1 best values; a row whose k-th
    and (k+1)-th values differ holds exactly the items at or above its k-th value, so only
    rows with a tie across the cut are settled again, by index (``_lowest_index_cut``).
    Why torch: ``np.partition``'s introselect degrades on rows of many equal values (a
    neighbourhood model's zeros): 40× slower than ``torch.topk`` on a 50k-item row that is
    98 % zeros (measured).
    """
    import torch  # lazy: torch is a slow import

    # read only below: without seen items there is nothing to mask, so no copy
    masked = mask_seen(scores, seen) if seen is not None else np.asarray(scores, dtype=np.float32)
    n_rows, n_items = masked.shape
    k = int(min(k, n_items))
    if k <= 0 or n_rows == 0:
        return np.empty((n_rows, max(k, 0)), dtype=np.int64)
    width = min(k + 1, n_items)                              # one past the cut shows a crossing tie
    best = torch.topk(torch.from_numpy(np.ascontiguousarray(masked)), width, dim=1, sorted=True)
    values, cols = best.values.numpy(), best.indices.numpy()[:, :k].astype(np.int64)
    if width > k:
        crowded = np.flatnonzero(values[:, k - 1] == values[:, k])
        if len(crowded):
            cols[crowded] = _lowest_index_cut(masked[crowded], values[crowded, k - 1], k)
    picked = np.take_along_axis(masked, cols, axis=1)
    return np.take_along_axis(cols, np.lexsort((cols, -picked), axis=1), axis=1)


def _lowest_index_cut(rows: np.ndarray, threshold: np.ndarray, k: int) -> np.ndarray:
    """Per row, the items above ``threshold`` and then the lowest-index items equal to it, k
    in all (ascending index): the exact top-k set when ties cross the cut."""
    above = rows > threshold[:, None]
    need = k - above.sum(axis=1)
    tie_rows, tie_cols = np.nonzero(rows == threshold[:, None])   # row-major: index order per row
    starts = np.searchsorted(tie_rows, np.arange(len(rows)))
    keep = np.arange(len(tie_rows)) - starts[tie_rows] < need[tie_rows]
    above[tie_rows[keep], tie_cols[keep]] = True
    return np.nonzero(above)[1].reshape(len(rows), k)


def affine_parameters(masked: np.ndarray, candidates: np.ndarray, method: str
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-row (shift, scale), each (n_rows, 1) float32, so that ``(score - shift) / scale`` is
    the ``minmax`` or ``zscore`` normalization; None for ``none``. Statistics are over each
    row's ``candidates`` (the entries of ``masked`` that may be ranked).

    Shared by ``normalize`` (whole blocks) and ``genre.store`` (which applies it to the few
    scores it keeps): the same parameters, so the same normalized values.
    """
    if method == "none":
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        # reductions restricted to the candidates with ``where=``: no NaN-filled copies
        if method == "minmax":
            low = np.min(masked, axis=1, keepdims=True, where=candidates, initial=np.inf)
            high = np.max(masked, axis=1, keepdims=True, where=candidates, initial=-np.inf)
            low[~np.isfinite(low)] = np.nan  # a row without candidates normalizes to 0
            span = high - low
            return low, np.where(span > 0, span, 1.0)
        if method == "zscore":
            mean = np.mean(masked, axis=1, keepdims=True, where=candidates)
            std = np.std(masked, axis=1, keepdims=True, where=candidates)
            return mean, np.where(std > 0, std, 1.0)
    raise ValueError(f"unknown normalization {method!r}; use minmax, zscore, rank or none")


def normalize(scores: np.ndarray, method: str = "minmax", seen: sp.spmatrix | None = None) -> np.ndarray:
    """Per-user normalized copy of ``scores`` so that algorithms on different scales can be mixed.

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
    shift, scale = affine_parameters(masked, candidates, method)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (block - shift) / scale
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


def normalize_rows(raw: np.ndarray, seen: sp.spmatrix | None, candidates: np.ndarray | None,
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
    """Weighted sum of already-normalized score blocks (same shape); weights need not sum to 1."""
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
