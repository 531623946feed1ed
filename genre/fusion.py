"""Score normalisation, weighted fusion and top-k selection.

Algorithms hand back dense score blocks for a batch of users; everything here works on
those blocks, so changing a mix weight re-fuses cached scores and never refits a model.
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
    tie-break is BENCHMARK.md's; ``argpartition`` alone would break ties arbitrarily, so the
    boundary value's ties are resolved explicitly.
    """
    masked = mask_seen(scores, seen)
    n_rows, n_items = masked.shape
    k = int(min(k, n_items))
    if k <= 0 or n_rows == 0:
        return np.empty((n_rows, max(k, 0)), dtype=np.int64)
    part = np.argpartition(-masked, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(masked, part, axis=1).min(axis=1)
    result = np.empty((n_rows, k), dtype=np.int64)
    for r in range(n_rows):
        row = masked[r]
        above = np.flatnonzero(row > kth[r])
        ties = np.flatnonzero(row == kth[r])[: k - len(above)]
        chosen = np.concatenate([above, ties])
        order = np.lexsort((chosen, -row[chosen]))
        result[r] = chosen[order]
    return result
