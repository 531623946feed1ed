"""Profile matching: score items by cosine between a user's profile vector and item vectors.

The profile vector is an embedded text about the user (e.g. LLM-written interest keywords,
or what a user typed), in the same space as the item vectors. It gives users with one or
two interactions — or none — a full ranking; ``history_weight`` blends in the mean of the
user's training item vectors where there is history to lean on.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from genre.algorithms.base import Progress, Recommender
from genre.errors import ConfigError, DataError
from genre.features import Features


class ProfileRecommender(Recommender):
    """Cosine of (profile ⊕ history) vectors against item vectors.

    Parameters
    ----------
    history_weight : float in [0, 1]
        Share of the user vector taken from the normalised mean of their training item
        vectors; 0 uses the profile alone, 1 the history alone. A user without a profile
        falls back to the history, and vice versa.

    Examples
    --------
    >>> model = ProfileRecommender(history_weight=0.3).fit(train, Features(
    ...     item_vectors=item_vecs, user_vectors=profile_vecs))
    >>> model.score([0, 1]).shape == (2, train.shape[1])
    True
    """

    name = "profile"
    requires = ("item_vectors", "user_vectors")

    def __init__(self, history_weight: float = 0.0) -> None:
        self.history_weight = history_weight

    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        weight = self.history_weight
        if not isinstance(weight, (int, float)) or not 0.0 <= float(weight) <= 1.0:
            raise ConfigError(f"history_weight must be a number in [0, 1], got {weight!r}")
        items = np.asarray(features.item_vectors, dtype=np.float32)
        users = np.asarray(features.user_vectors, dtype=np.float32)
        if items.ndim != 2 or items.shape[0] != train.shape[1]:
            raise DataError(f"features.item_vectors must have one row per item ({train.shape[1]}), "
                            f"got shape {items.shape}")
        if users.ndim != 2 or users.shape != (train.shape[0], items.shape[1]):
            raise DataError(f"features.user_vectors must be (n_users, d) = ({train.shape[0]}, "
                            f"{items.shape[1]}) in the item-vector space, got shape {users.shape}; "
                            f"embed the profiles with the item encoder")
        self.item_vectors_ = _unit_rows(items)
        profile = _unit_rows(users)
        history = _unit_rows(np.asarray(train @ self.item_vectors_, dtype=np.float32))
        has_profile = np.linalg.norm(profile, axis=1) > 0
        has_history = np.linalg.norm(history, axis=1) > 0
        share = np.where(has_profile & has_history, float(weight), np.where(has_history, 1.0, 0.0))
        self.user_vectors_ = _unit_rows(((1.0 - share)[:, None] * profile
                                         + share[:, None] * history).astype(np.float32))
        if progress is not None:
            progress(1, 1, f"profile vectors for {int(has_profile.sum())} of {len(users)} users")

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self.user_vectors_[users] @ self.item_vectors_.T


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1; zero (and non-finite) rows stay zero."""
    matrix = np.nan_to_num(matrix, nan=0.0, posinf=0.0, neginf=0.0)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)
