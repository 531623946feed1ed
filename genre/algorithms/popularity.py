"""Most-popular items: the baseline every other algorithm has to beat."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from genre.algorithms.base import Progress, Recommender
from genre.features import Features


class Popularity(Recommender):
    """Scores every item by the share of training users who interacted with it.

    The same list for everyone (minus what each user has seen); a useful floor because
    popularity alone is a strong signal on most public datasets.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> model = Popularity().fit(sp.csr_matrix([[1, 1, 0], [0, 1, 0]]))
    >>> model.score([0]).round(2).tolist()
    [[0.5, 1.0, 0.0]]
    """

    name = "popularity"

    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        users_per_item = np.bincount(train.indices, minlength=train.shape[1])
        self.item_popularity_ = (users_per_item / train.shape[0]).astype(np.float32)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_popularity_, (len(users), self.n_items_)).copy()

    fold_in_reason = None

    def _fold_in(self, items: np.ndarray, timestamps: np.ndarray | None) -> np.ndarray:
        return self.item_popularity_.copy()  # the same list for everyone
