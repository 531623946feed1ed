"""Profile matching: score items by cosine between a user's profile vector and item vectors.

The profile vector is an embedded text about the user (e.g. LLM-written interest keywords,
or what a user typed), in the same space as the item vectors. It gives users with one or
two interactions — or none — a full ranking; ``history_weight`` blends in the mean of the
user's training item vectors where there is history to lean on.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from genre.algorithms.base import Progress, Recommender
from genre.constraints import UNIT, Constraints
from genre.errors import DataError
from genre.features import Features


class ProfileRecommender(Recommender):
    """Cosine of (profile ⊕ history) vectors against item vectors.

    Parameters
    ----------
    history_weight : float in [0, 1]
        Share of the user vector taken from the normalized mean of their training item
        vectors; 0 uses the profile alone, 1 the history alone. A user without a profile
        falls back to the history, and vice versa.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> train = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32))
    >>> item_vecs = np.eye(3, dtype=np.float32)                              # item texts, embedded
    >>> profile_vecs = np.array([[0, 0, 1], [1, 0, 0]], dtype=np.float32)     # profiles, same space
    >>> model = ProfileRecommender(history_weight=0.3).fit(train, Features(
    ...     item_vectors=item_vecs, user_vectors=profile_vecs))
    >>> model.score([0, 1]).shape == (2, train.shape[1])
    True
    """

    name = "profile"
    requires = ("item_vectors", "user_vectors")
    _parameter_constraints: ClassVar[Constraints] = {"history_weight": UNIT}

    def __init__(self, history_weight: float = 0.0) -> None:
        self.history_weight = history_weight

    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        items, users = features.item_vectors, features.user_vectors
        if items.ndim != 2 or items.shape[0] != train.shape[1]:
            raise DataError(f"profile: features.item_vectors must have one row per item "
                            f"({train.shape[1]}), got shape {items.shape}")
        if users.ndim != 2 or users.shape != (train.shape[0], items.shape[1]):
            raise DataError(f"profile: features.user_vectors must be (n_users, d) = ({train.shape[0]}, "
                            f"{items.shape[1]}) in the item-vector space, got shape {users.shape}; "
                            f"embed the profiles with the item encoder")
        sparse = sp.issparse(items)  # TF-IDF stays sparse: too wide to densify
        self.item_vectors_ = normalize(_finite(_as(items, sparse)))
        profile = normalize(_finite(_as(users, sparse)))
        history = normalize(_as(train @ self.item_vectors_, sparse))
        has_profile = _row_norms(profile) > 0
        has_history = _row_norms(history) > 0
        share = np.where(has_profile & has_history, float(self.history_weight),
                         np.where(has_history, 1.0, 0.0)).astype(np.float32)
        self.user_vectors_ = normalize(_as(sp.diags(1.0 - share) @ profile
                                           + sp.diags(share) @ history, sparse))
        if progress is not None:
            progress(1, 1, f"profile vectors for {int(has_profile.sum())} of {len(share)} users")

    def _score(self, users: np.ndarray) -> np.ndarray:
        scores = self.user_vectors_[users] @ self.item_vectors_.T
        return scores.toarray() if sp.issparse(scores) else scores


def _as(matrix: np.ndarray | sp.spmatrix, sparse: bool) -> np.ndarray | sp.csr_matrix:
    """float32 CSR when ``sparse``, else a float32 array."""
    if sparse:
        return sp.csr_matrix(matrix, dtype=np.float32)
    return np.asarray(matrix.toarray() if sp.issparse(matrix) else matrix, dtype=np.float32)


def _finite(matrix: np.ndarray | sp.csr_matrix) -> np.ndarray | sp.csr_matrix:
    """NaN / inf entries as 0, so one bad vector cannot poison every score."""
    if sp.issparse(matrix):
        matrix.data = np.nan_to_num(matrix.data, nan=0.0, posinf=0.0, neginf=0.0)
        return matrix
    return np.nan_to_num(matrix, nan=0.0, posinf=0.0, neginf=0.0)


def _row_norms(matrix: np.ndarray | sp.csr_matrix) -> np.ndarray:
    if sp.issparse(matrix):
        return np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return np.linalg.norm(matrix, axis=1)
