"""Sequential item-kNN: items that people consume close together in time, seeded by a user's latest items.

Interactions arrive in bursts (a MovieLens user rates dozens of films in one sitting), so the
items someone will take next are best predicted by what others took *right around* the items
this user took last. The model counts, over every training history in time order, each pair of
items at most ``window`` positions apart (weight 1 / distance), normalizes the co-occurrence
graph symmetrically by degree, and scores items for a user by their ``last`` most recent items
with geometric ``decay``. This is a plain sparse-matrix model (no library offers it over
scipy.sparse in this shape), in the spirit of session-kNN / item-transition recommenders.

Examples
--------
>>> model = SequentialKNN(window=10, last=5, decay=0.8)          # doctest: +SKIP
>>> model.fit(train, Features(interaction_times=times)).score([0]).shape  # doctest: +SKIP
(1, n_items)
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from genre.algorithms.base import Progress, Recommender
from genre.constraints import SEED, Bound, Constraints
from genre.features import Features


class SequentialKNN(Recommender):
    """Time-ordered co-occurrence of items, scored from each user's most recent items.

    Parameters
    ----------
    window : int
        Pairs of a history at most this many positions apart count (weight 1 / distance).
    last : int
        How many of the user's most recent items seed their scores.
    decay : float
        Weight of the r-th most recent item is ``decay ** r`` (r = 0 for the latest).
    seed : int
        Orders interactions with equal timestamps reproducibly.
    """

    name = "sequential"
    requires = ("interaction_times",)
    tune_grid = {"window": [5, 10, 20], "last": [3, 5, 10, 20], "decay": [0.6, 0.8, 1.0]}  # tuned in this order
    _parameter_constraints: ClassVar[Constraints] = {
        "window": Bound(1, 1000, int), "last": Bound(1, 1000, int),
        "decay": Bound(0.0, 1.0, low_open=True), "seed": SEED}

    def __init__(self, window: int = 10, last: int = 5, decay: float = 0.8, seed: int = 42):
        self.window = window
        self.last = last
        self.decay = decay
        self.seed = seed

    memory_hint = "window"

    def peak_bytes(self, n_users: int, n_items: int, n_interactions: int, n_features: int) -> int:
        # dominated by the co-occurrence graph: up to 2 × window pairs per interaction (both directions),
        # at most n_items², 8 bytes each, about twice while the running sum adds a distance
        pairs = min(2 * int(self.window) * n_interactions, n_items**2)
        return 2 * 8 * pairs + super().peak_bytes(n_users, n_items, n_interactions, n_features)

    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        users, items, from_end = _time_ordered(train, features.interaction_times, self.seed)
        graph = _cooccurrence(users, items, train.shape[1], int(self.window))
        # symmetric degree normalization D^-1/2 G D^-1/2, in place: no second copy of the graph
        degree = np.asarray(graph.sum(axis=1)).ravel()
        scale = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1e-12)), 0.0).astype(np.float32)
        graph.data *= scale[graph.indices]
        graph.data *= np.repeat(scale, np.diff(graph.indptr))
        self.similarity_ = graph
        recent = from_end < int(self.last)
        self.queries_ = sp.csr_matrix(
            (np.power(float(self.decay), from_end[recent]).astype(np.float32), (users[recent], items[recent])),
            shape=train.shape)
        if progress:
            progress(1, 1, f"sequential: {graph.nnz:,} item pairs")

    def _score(self, users: np.ndarray) -> np.ndarray:
        return (self.queries_[users] @ self.similarity_).toarray()

    fold_in_reason = None

    def _fold_in(self, items: np.ndarray, timestamps: np.ndarray | None) -> np.ndarray:
        """The query of the ``last`` most recent distinct items (``items`` oldest first), decayed."""
        latest_first = items[::-1]
        _, first = np.unique(latest_first, return_index=True)    # each item's most recent position
        recent = latest_first[np.sort(first)][: int(self.last)]
        query = sp.csr_matrix((np.power(float(self.decay), np.arange(len(recent))).astype(np.float32),
                               (np.zeros(len(recent), np.int64), recent)), shape=(1, self.n_items_))
        return (query @ self.similarity_).toarray()[0]


def _cooccurrence(users: np.ndarray, items: np.ndarray, n_items: int, window: int) -> sp.csr_matrix:
    """Symmetric item × item float32 CSR: Σ 1/distance over same-user pairs ≤ ``window`` apart.

    Why one distance at a time: each step adds at most one pair per interaction to a running
    sparse sum, so memory stays O(distinct pairs + interactions), never window × interactions.
    """
    index = np.int32 if n_items < 2**31 else np.int64
    items = items.astype(index)
    graph = sp.csr_matrix((n_items, n_items), dtype=np.float32)
    for distance in range(1, window + 1):
        same_user = users[distance:] == users[:-distance]
        first, second = items[:-distance][same_user], items[distance:][same_user]
        weight = np.full(first.shape, 1.0 / distance, dtype=np.float32)
        graph = graph + sp.csr_matrix((weight, (first, second)), shape=(n_items, n_items), dtype=np.float32)
    graph = (graph + graph.T).tocsr()
    graph.sum_duplicates()
    return graph


def _time_ordered(train: sp.csr_matrix, times: sp.csr_matrix | None, seed: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, item, position from the end) of every training pair, in per-user time order."""
    coo = train.tocoo()
    users, items = coo.row.astype(np.int64), coo.col.astype(np.int64)
    stamps = np.asarray(times.tocsr()[users, items]).ravel() if times is not None else np.zeros(len(users))
    tie_break = np.random.default_rng(seed).permutation(len(users))
    order = np.lexsort((tie_break, stamps, users))
    users, items = users[order], items[order]
    counts = np.bincount(users, minlength=train.shape[0])
    ends = np.cumsum(counts)[users]
    from_end = ends - 1 - np.arange(len(users))
    return users, items, from_end
