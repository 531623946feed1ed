"""EASE: a shallow linear item-item autoencoder with a closed-form solution (Steck, 2019)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import psutil
import scipy.sparse as sp

from genre.algorithms._lapack import spd_inverse_upper
from genre.algorithms.base import Progress, Recommender
from genre.constraints import Bound, Constraints
from genre.errors import ConfigError, GenreError
from genre.features import Features


class EASE(Recommender):
    """Learns item-item weights B that rebuild each user's row from their other items.

    ``B = argmin ‖X − XB‖² + λ‖B‖²`` with ``diag(B) = 0`` has the closed form
    ``P = (XᵀX + λI)⁻¹``, ``B = −P / diag(P)`` (column-wise), ``diag(B) = 0``; a user's
    scores are ``x_u B``. One dense item × item inverse: accurate and fast up to tens of
    thousands of items, but memory grows with the square of the catalog.

    Parameters
    ----------
    l2 : float
        Ridge penalty λ (larger = more regularised; a few hundred suits MovieLens-sized data).
    max_items : int
        Largest catalog accepted; beyond it, or when the dense matrices would not fit in the
        memory available now, ``fit`` refuses instead of exhausting memory.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> train = sp.csr_matrix([[1, 1, 0], [1, 1, 1], [0, 1, 1]])
    >>> EASE(l2=1.0).fit(train).weights_.diagonal().tolist()
    [0.0, 0.0, 0.0]
    """

    name = "ease"
    tune_grid = {"l2": [100.0, 250.0, 500.0, 1000.0]}
    #: l2 > 0 keeps XᵀX + λI invertible.
    _parameter_constraints: ClassVar[Constraints] = {
        "l2": Bound(0.0, 1e7, low_open=True), "max_items": Bound(1, 50_000, int)}

    def __init__(self, l2: float = 250.0, max_items: int = 20000):
        self.l2 = l2
        self.max_items = max_items

    def peak_bytes(self, n_users: int, n_items: int, n_interactions: int, n_features: int) -> int:
        # dominated by the dense item × item Gram matrix inverted in place beside LAPACK's workspace
        return 2 * 4 * n_items**2 + super().peak_bytes(n_users, n_items, n_interactions, n_features)

    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        n_items = train.shape[1]
        _check_memory(n_items, int(self.max_items))
        if progress is not None:
            progress(0, 2, "EASE: item co-occurrence")
        # items nobody interacted with get all-zero weights: invert only the block of the others
        # (the Gram matrix is block-diagonal, so this is exact and saves 1 - (p/n)³ of the work)
        present = np.flatnonzero(np.diff(train.tocsc().indptr))
        seen = train[:, present] if len(present) < n_items else train
        gram = (seen.T @ seen).toarray().astype(np.float32, copy=False)
        gram[np.diag_indices(len(present))] += np.float32(self.l2)
        if progress is not None:
            progress(1, 2, "EASE: inverting")
        inverse = _spd_inverse(gram)
        del gram
        inverse /= -np.diag(inverse).copy()[None, :]  # in place: one n² matrix, not two
        inverse[np.diag_indices(len(present))] = 0.0
        if len(present) == n_items:
            self.weights_ = inverse.astype(np.float32, copy=False)
        else:
            self.weights_ = np.zeros((n_items, n_items), dtype=np.float32)
            self.weights_[np.ix_(present, present)] = inverse
        if progress is not None:
            progress(2, 2, "EASE: done")

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.train_[users] @ self.weights_)

    fold_in_reason = None

    def _fold_in(self, items: np.ndarray, timestamps: np.ndarray | None) -> np.ndarray:
        return np.asarray(self.history_row(items) @ self.weights_)[0]  # history × B


def _check_memory(n_items: int, max_items: int) -> None:
    """Refuse a catalog whose dense item × item matrices would not fit, before allocating them.

    The dense Gram matrix is inverted in place (n² float32) beside the sparse co-occurrence
    counts and LAPACK's workspace: about 2 × 4 n² bytes at the peak (20k items: 3.2 GB;
    50k: 20 GB; 200k: 320 GB).
    """

    need = 2 * n_items**2 * 4
    available = psutil.virtual_memory().available
    if n_items <= max_items and need <= 0.8 * available:
        return
    reason = (f"above max_items={max_items}" if n_items > max_items else
              f"but only {available / 1e9:.1f} GB of memory is available")
    raise ConfigError(
        f"ease: the catalog has {n_items} items, {reason}; EASE keeps dense item × item matrices "
        f"(about {need / 1e9:.1f} GB here). Raise max_items if the machine has that memory, or use "
        f"item_knn / als, which stay sparse or low-rank")


def _spd_inverse(matrix: np.ndarray, block: int = 2048) -> np.ndarray:
    """Inverse of a symmetric positive-definite float32 matrix, overwriting ``matrix``.

    Cholesky (``potrf`` + ``potri``) costs about half an LU inverse and works in place; LAPACK
    fills only the upper triangle, mirrored here block by block so no second n² copy is made.
    """
    inverse, info = spd_inverse_upper(matrix)  # without the GIL: fits in other threads go on
    if info != 0:
        raise GenreError(f"ease: XᵀX + λI is not positive definite (LAPACK info={info}); "
                         f"raise l2")
    n = len(inverse)
    for start in range(0, n, block):
        stop = min(start + block, n)
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        rows = inverse[start:stop, start:stop]
        rows[np.tril_indices(stop - start, -1)] = rows.T[np.tril_indices(stop - start, -1)]
    return inverse.T  # symmetric: the C-ordered view of the same values
