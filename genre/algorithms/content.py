"""Content-based recommendation: cosine between a user's history profile and every item."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from genre.algorithms.base import Progress, Recommender
from genre.errors import ConfigError, DataError
from genre.features import Features

WEIGHTINGS = ("uniform", "recency", "rating")
_SECONDS_PER_DAY = 86400.0


class ContentBased(Recommender):
    """Scores items by cosine similarity to the weighted mean of the user's history vectors.

    Works from item content alone (text or image encodings, TF-IDF), so it can rank items
    nobody has interacted with yet. ``features.item_vectors`` may be a dense
    ``(n_items, d)`` array or a scipy.sparse matrix (e.g. TF-IDF, too wide to densify).

    Parameters
    ----------
    weighting : {"uniform", "recency", "rating"}
        How history items count in the profile: equally; by ``0.5 ** (age / half_life_days)``
        where age is measured back from the user's latest interaction (needs
        ``features.interaction_times``, in seconds); or by the rating given (needs
        ``features.interaction_ratings``).
    half_life_days : float
        Age at which an interaction counts half (``weighting="recency"`` only).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from genre.features import Features
    >>> vectors = np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32)
    >>> model = ContentBased().fit(sp.csr_matrix([[1, 0, 0]]), Features(item_vectors=vectors))
    >>> model.recommend(0, k=1).tolist()
    [1]
    """

    name = "content"
    requires = ("item_vectors",)
    tune_grid = {"weighting": list(WEIGHTINGS)}

    def __init__(self, weighting: str = "uniform", half_life_days: float = 365.0):
        self.weighting = weighting
        self.half_life_days = half_life_days

    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ConfigError(f"content: weighting must be one of {', '.join(WEIGHTINGS)}; "
                              f"got {self.weighting!r}")
        if self.weighting == "recency" and not float(self.half_life_days) > 0:
            raise ConfigError(f"content: half_life_days must be > 0, got {self.half_life_days!r}")
        vectors = features.item_vectors
        if vectors.ndim != 2 or vectors.shape[0] != train.shape[1]:
            raise DataError(f"content: features.item_vectors must have one row per item "
                            f"({train.shape[1]}), got shape {vectors.shape}; re-encode the items "
                            f"of this dataset")
        vectors = sp.csr_matrix(vectors, dtype=np.float32) if sp.issparse(vectors) \
            else np.asarray(vectors, dtype=np.float32)
        self.item_vectors_ = normalize(vectors)
        self.history_weights_ = self._history_weights(train, features)

    def _history_weights(self, train: sp.csr_matrix, features: Features) -> sp.csr_matrix:
        """User × item weights with the training matrix's sparsity."""
        rows, cols = train.nonzero()
        if self.weighting == "uniform":
            weights = np.ones(len(rows), dtype=np.float32)
        elif self.weighting == "rating":
            weights = _values_at(features.interaction_ratings, "interaction_ratings", train, rows, cols)
        else:
            times = _values_at(features.interaction_times, "interaction_times", train, rows, cols)
            counts = np.bincount(rows, minlength=train.shape[0])
            starts = np.r_[0, np.cumsum(counts)[:-1]][counts > 0]
            latest = np.repeat(np.maximum.reduceat(times, starts), counts[counts > 0])
            age_days = (latest - times) / _SECONDS_PER_DAY
            weights = 0.5 ** (age_days / float(self.half_life_days))
        return sp.csr_matrix((weights.astype(np.float32), (rows, cols)), shape=train.shape)

    def _score(self, users: np.ndarray) -> np.ndarray:
        profiles = normalize(self.history_weights_[users] @ self.item_vectors_)
        scores = profiles @ self.item_vectors_.T
        return scores.toarray() if sp.issparse(scores) else scores


def _values_at(values: sp.spmatrix | None, field: str, train: sp.csr_matrix,
               rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``values`` at the training pairs (rows, cols), as float64."""
    if values is None:
        raise ConfigError(f"content: this weighting needs features.{field}; build the features "
                          f"from a dataset with that column or use weighting='uniform'")
    if values.shape != train.shape:
        raise DataError(f"content: features.{field} has shape {values.shape}, expected the "
                        f"training matrix's {train.shape}")
    return np.asarray(sp.csr_matrix(values)[rows, cols], dtype=np.float64).ravel()
