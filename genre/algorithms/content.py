"""Content-based recommendation: cosine between a user's history profile and every item.

Large catalogs with dense item vectors are scored through a faiss inverted-file index:
each user's ``ann_candidates`` nearest items get their exact cosine, the rest rank below them.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from genre.algorithms.base import Progress, Recommender
from genre.constraints import Bound, Constraints, OneOf
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
    ann_min_items : int or None
        Catalogs of at least this many items with dense vectors are scored by approximate
        nearest-neighbour retrieval (faiss IVF, ~10 % of the index probed); None = always exact.
        Sparse vectors (TF-IDF) are always exact: a sparse × dense product is already cheap.
    ann_candidates : int
        Items retrieved per user in ANN mode; only they get their cosine, all other items score
        just below the user's lowest retrieved one (so rankings beyond this depth are arbitrary).

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
    _parameter_constraints: ClassVar[Constraints] = {
        "weighting": OneOf(WEIGHTINGS), "half_life_days": Bound(0.0, 1e6, low_open=True),
        "ann_min_items": Bound(1, 10**9, int, none_ok=True), "ann_candidates": Bound(1, 100_000, int)}

    def __init__(self, weighting: str = "uniform", half_life_days: float = 365.0,
                 ann_min_items: int | None = 50_000, ann_candidates: int = 500):
        self.weighting = weighting
        self.half_life_days = half_life_days
        self.ann_min_items = ann_min_items
        self.ann_candidates = ann_candidates

    def peak_bytes(self, n_users: int, n_items: int, n_interactions: int, n_features: int) -> int:
        # dominated by the (dense) item vectors: the unit copy kept, and the ANN index's own copy
        copies = 2 + (self.ann_min_items is not None and n_items >= int(self.ann_min_items))
        return copies * 4 * n_items * n_features + super().peak_bytes(n_users, n_items, n_interactions,
                                                                       n_features)

    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        vectors = features.item_vectors
        if vectors.ndim != 2 or vectors.shape[0] != train.shape[1]:
            raise DataError(f"content: features.item_vectors must have one row per item "
                            f"({train.shape[1]}), got shape {vectors.shape}; re-encode the items "
                            f"of this dataset")
        self.item_vectors_ = unit_vectors(vectors)
        self.history_weights_ = self._history_weights(train, features)
        use_ann = (self.ann_min_items is not None and not sp.issparse(vectors)
                   and vectors.shape[0] >= int(self.ann_min_items))
        self.index_ = _ann_index(self.item_vectors_) if use_ann else None

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
        if self.index_ is not None:
            profiles = normalize(self.history_weights_[users] @ self.item_vectors_)
            return _ann_scores(self.index_, np.asarray(profiles, dtype=np.float32),
                               self.item_vectors_.shape[0], int(self.ann_candidates))
        return cosine_scores(self.history_weights_[users], self.item_vectors_)

    fold_in_reason = None

    def _fold_in(self, items: np.ndarray, timestamps: np.ndarray | None) -> np.ndarray:
        """The history profile's cosine; recency weights need ``timestamps`` (else uniform)."""
        row = self.history_row(items)
        if self.weighting == "recency" and timestamps is not None:
            latest = {int(i): t for i, t in zip(items, timestamps)}      # oldest first: the last wins
            ages = (max(latest.values()) - np.array([latest[int(i)] for i in row.indices])) / _SECONDS_PER_DAY
            row.data = (0.5 ** (ages / float(self.half_life_days))).astype(np.float32)
        if self.index_ is not None:
            profile = np.asarray(normalize(row @ self.item_vectors_), dtype=np.float32)
            return _ann_scores(self.index_, profile, self.item_vectors_.shape[0], int(self.ann_candidates))[0]
        return cosine_scores(row, self.item_vectors_)[0]

    def _state(self) -> dict:
        return super()._state(skip=("index_",))  # the ANN index is rebuilt from the vectors

    def _restore(self, state: dict) -> "ContentBased":
        super()._restore(state)
        use_ann = (self.ann_min_items is not None and not sp.issparse(self.item_vectors_)
                   and self.item_vectors_.shape[0] >= int(self.ann_min_items))
        self.index_ = _ann_index(self.item_vectors_) if use_ann else None
        return self


def unit_vectors(vectors: np.ndarray | sp.spmatrix) -> np.ndarray | sp.csr_matrix:
    """Item vectors as float32 rows of length 1 (CSR when sparse): cosine becomes a dot product."""
    return normalize(sp.csr_matrix(vectors, dtype=np.float32) if sp.issparse(vectors)
                     else np.asarray(vectors, dtype=np.float32))


def cosine_scores(history_weights: sp.csr_matrix, unit_vectors: np.ndarray | sp.csr_matrix) -> np.ndarray:
    """Users × items cosine between each user's weighted history profile and every (unit) item vector."""
    profiles = normalize(history_weights @ unit_vectors)
    if sp.issparse(unit_vectors):
        # items (sparse) × dense profiles: a sparse × sparse product with a dense result
        # costs many times more on large catalogs
        dense = profiles.toarray() if sp.issparse(profiles) else profiles
        return np.ascontiguousarray(np.asarray(unit_vectors @ dense.T).T)  # rows are read next
    return profiles @ unit_vectors.T


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


def _ann_index(vectors: np.ndarray):
    """faiss inner-product IVF index over unit item vectors, probing ~10 % of its lists."""
    import faiss  # lazy: only needed above the ANN threshold

    n, dim = vectors.shape
    n_lists = max(1, min(int(2 * np.sqrt(n)), n // 40))  # faiss wants ≥ 39 training points per list
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, n_lists, faiss.METRIC_INNER_PRODUCT)
    sample = vectors[np.random.default_rng(0).permutation(n)[: 64 * n_lists]]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    index.nprobe = max(1, n_lists // 10)
    return index


def _ann_scores(index, profiles: np.ndarray, n_items: int, candidates: int) -> np.ndarray:
    """Dense score rows: retrieved items get their cosine, the others just below the row's lowest."""
    sims, items = index.search(np.ascontiguousarray(profiles), min(candidates, n_items))
    found = items >= 0
    lowest = np.where(found, sims, np.inf).min(axis=1)
    floor = np.where(np.isfinite(lowest), np.nextafter(lowest, -np.inf), 0.0).astype(np.float32)
    scores = np.repeat(floor[:, None], n_items, axis=1)
    rows = np.repeat(np.arange(len(profiles)), items.shape[1]).reshape(items.shape)
    scores[rows[found], items[found]] = sims[found]
    return scores
