"""Genre preference: how much of a user's history falls in each of an item's genres."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from genre.algorithms.base import Progress, Recommender
from genre.constraints import PENALTY, Constraints
from genre.errors import ConfigError, DataError
from genre.features import Features


class GenrePreference(Recommender):
    """Scores an item by the user's smoothed genre distribution over the item's genres.

    Each history item spreads one unit over its genres (``1 / n_genres`` each). A user's
    distribution is ``θ_u = (counts_u + alpha · p) / (Σ counts_u + alpha)``, a Dirichlet
    prior toward the global genre distribution ``p``, so a user with three interactions is
    not locked into their three genres. ``score(u, i) = Σ_g θ_ug · [g ∈ i] / n_genres(i)
    + popularity_weight · popularity(i) / max popularity``: many items share one genre
    set, and the small popularity term orders them sensibly.

    Parameters
    ----------
    alpha : float
        Prior strength in pseudo-interactions (0 = the user's raw distribution).
    popularity_weight : float
        Weight of the normalized popularity term: small, it only breaks ties; near 1 the model
        becomes a genre-aware popularity ranking (stronger alone, redundant beside popularity).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from genre.features import Features
    >>> genres = sp.csr_matrix([[1, 0], [1, 0], [0, 1]])
    >>> model = GenrePreference(alpha=0.0).fit(sp.csr_matrix([[1, 0, 0], [0, 0, 1]]),
    ...                                        Features(item_genres=genres))
    >>> model.recommend(0, k=1).tolist()
    [1]
    """

    name = "genre_pref"
    requires = ("item_genres",)
    tune_grid = {"popularity_weight": [0.01, 0.1, 0.3, 1.0, 3.0], "alpha": [0.0, 1.0, 5.0, 20.0, 100.0]}
    _parameter_constraints: ClassVar[Constraints] = {"alpha": PENALTY, "popularity_weight": PENALTY}

    def __init__(self, alpha: float = 5.0, popularity_weight: float = 0.01):
        self.alpha = alpha
        self.popularity_weight = popularity_weight

    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        genres = sp.csr_matrix(features.item_genres, dtype=np.float32, copy=True)  # binarised below
        if genres.shape[0] != train.shape[1]:
            raise DataError(f"genre_pref: features.item_genres must have one row per item "
                            f"({train.shape[1]}), got shape {genres.shape}")
        if genres.shape[1] == 0 or genres.nnz == 0:
            raise ConfigError("genre_pref: no item has a genre; load an item table with a genres "
                              "column or switch genre_pref off")
        genres.data[:] = 1.0
        per_item = np.asarray(genres.sum(axis=1)).ravel()
        self.item_genres_ = sp.csr_matrix(sp.diags(1.0 / np.maximum(per_item, 1.0)) @ genres,
                                          dtype=np.float32)
        history = train.copy()
        history.data[:] = 1.0
        counts = np.asarray((history @ self.item_genres_).todense(), dtype=np.float64)
        total = counts.sum()
        prior = counts.sum(axis=0) / total if total > 0 else np.full(genres.shape[1], 1.0 / genres.shape[1])
        alpha = float(self.alpha)
        denominator = counts.sum(axis=1, keepdims=True) + alpha
        smoothed = (counts + alpha * prior) / np.where(denominator > 0, denominator, 1.0)
        self.user_genres_ = smoothed.astype(np.float32)
        self.genre_prior_ = prior.astype(np.float32)
        users_per_item = np.bincount(history.indices, minlength=train.shape[1]).astype(np.float32)
        self.popularity_ = users_per_item / max(users_per_item.max(), 1.0)

    def _score(self, users: np.ndarray) -> np.ndarray:
        preference = np.asarray(self.item_genres_ @ self.user_genres_[users].T).T
        return preference + np.float32(self.popularity_weight) * self.popularity_

    fold_in_reason = None

    def _fold_in(self, items: np.ndarray, timestamps: np.ndarray | None) -> np.ndarray:
        """The history's genre shares, smoothed toward the training prior as a trained user's are."""
        counts = np.asarray((self.history_row(items) @ self.item_genres_).todense(), dtype=np.float64)[0]
        prior = getattr(self, "genre_prior_", np.full(len(counts), 1.0 / max(len(counts), 1)))
        shares = (counts + float(self.alpha) * prior) / max(counts.sum() + float(self.alpha), 1e-12)
        preference = np.asarray(self.item_genres_ @ shares.astype(np.float32)).ravel()
        return preference + np.float32(self.popularity_weight) * self.popularity_
