"""Item-based k-nearest-neighbours collaborative filtering on sparse matrices."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from genre.algorithms.base import Progress, Recommender
from genre.errors import ConfigError
from genre.features import Features

#: Cells (target items × n_items) per block when building the similarity matrix: bounds the
#: dense block and its argpartition indices to ~200 MB whatever the catalog size.
_BLOCK_CELLS = 1 << 24


class ItemKNN(Recommender):
    """Scores an item by its shrunk cosine similarity to the items a user has interacted with.

    ``sim(i, j) = x_i · x_j / (‖x_i‖ ‖x_j‖ + shrink)`` over the item columns of the training
    matrix; each target item keeps only its ``k`` most similar items, so a user's score for
    item j sums the similarities of j's neighbours that are in the user's history. Shrinkage
    pulls similarities built on few co-occurrences toward zero.

    Parameters
    ----------
    k : int
        Neighbours kept per item (larger = smoother, slower).
    shrink : float
        Added to the cosine denominator; 0 gives plain cosine.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> train = sp.csr_matrix([[1, 1, 0], [1, 1, 1], [0, 1, 1]])
    >>> ItemKNN(k=1).fit(train).recommend(0, k=1).tolist()
    [2]
    """

    name = "item_knn"
    tune_grid = {"k": [50, 100, 200, 400, 800]}

    def __init__(self, k: int = 400, shrink: float = 0.0):
        self.k = k
        self.shrink = shrink

    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        if int(self.k) < 1:
            raise ConfigError(f"item_knn: k must be a positive number of neighbours, got {self.k!r}")
        if float(self.shrink) < 0:
            raise ConfigError(f"item_knn: shrink must be >= 0, got {self.shrink!r}")
        self.similarity_ = _top_k_similarity(train, int(self.k), float(self.shrink), progress)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return (self.train_[users] @ self.similarity_).toarray()


def _top_k_similarity(train: sp.csr_matrix, k: int, shrink: float,
                      progress: Progress | None) -> sp.csr_matrix:
    """Item × item shrunk cosine, column j holding only target j's ``k`` best neighbours.

    Built a block of target items at a time (a dense block × n_items), so memory stays
    bounded on large catalogs.
    """
    n_items = train.shape[1]
    item_user = sp.csr_matrix(train.T)
    norms = np.sqrt(np.asarray(train.multiply(train).sum(axis=0)).ravel()).astype(np.float32)
    k = min(k, n_items - 1) if n_items > 1 else 0
    # built column by column (a target's neighbours are one CSC column) with int32 indices:
    # 200k items × k=400 is 80M entries, so COO triplets of int64 would need 3–5 GB at the peak
    counts, neighbours, values = [np.zeros(1, dtype=np.int64)], [], []
    block = max(1, min(1024, _BLOCK_CELLS // n_items))
    n_blocks = -(-n_items // block)
    for b, start in enumerate(range(0, n_items, block)):
        stop = min(start + block, n_items)
        dots = (item_user[start:stop] @ train).toarray()
        sims = dots / (norms[start:stop, None] * norms[None, :] + shrink + 1e-12)
        sims[np.arange(stop - start), np.arange(start, stop)] = 0.0
        if k:
            best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            best_sims = np.take_along_axis(sims, best, axis=1)
            keep = best_sims > 0
            counts.append(keep.sum(axis=1))
            neighbours.append(best[keep].astype(np.int32))
            values.append(best_sims[keep].astype(np.float32))
        if progress is not None:
            progress(b + 1, n_blocks, "item-kNN similarities")
    if not neighbours:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    indptr = np.cumsum(np.concatenate(counts))
    similarity = sp.csc_matrix((np.concatenate(values), np.concatenate(neighbours), indptr),
                               shape=(n_items, n_items), dtype=np.float32)
    return similarity.tocsr()
