"""The candidate store's probe: exact scores of a few items per user, from which the mix's AUC is computed.

The mix's AUC needs every item's score, which the store does not keep; so per user it keeps the
exact normalized scores of the held-out items and of a seeded sample of other rankable items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from genre.split import Split

#: Negatives sampled for the mix's AUC over all users (``MIN_PROBE`` each at least): 3M keep the mean
#: AUC's sampling error near 0.3 / √3M ≈ 0.0002 at any user count, in 3M × (9 + 4 per algorithm) bytes.
PROBE_TOTAL = 3_000_000
MIN_PROBE = 100


def probe_items(split: Split, users: np.ndarray, rankable: np.ndarray, n_negatives: int, seed: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per user: rankable held-out items, then a seeded sample of ``n_negatives`` other rankable
    items (all of them when fewer). Returns (counts, items, positive flags), rows concatenated.

    A user has seen a sliver of a large catalog, so twice the sample is drawn from the whole
    catalog (a random order) and the first rankable ones kept: a uniform sample without
    listing the user's rankable items; only a user short of them after that lists them.
    """
    relevant = sp.csr_matrix(split.test_matrix()[users])
    universe = np.arange(split.n_items) if split.candidate_items is None else np.unique(split.candidate_items)
    counts, items, flags = [], [], []
    for r, user in enumerate(users):
        held = relevant.indices[relevant.indptr[r]:relevant.indptr[r + 1]]
        held = np.unique(held[rankable[r, held]])
        allowed = rankable[r].copy()
        allowed[held] = False
        rng = np.random.default_rng([seed, int(user)])
        pool = universe[rng.choice(len(universe), min(2 * n_negatives, len(universe)), replace=False)]
        pool = pool[allowed[pool]][:n_negatives]
        if len(pool) < n_negatives:  # few rankable items: take them all, or a sample of the list
            pool = np.flatnonzero(allowed)
            if len(pool) > n_negatives:
                pool = rng.choice(pool, n_negatives, replace=False)
        pool = np.sort(pool)
        counts.append(len(held) + len(pool))
        items.append(np.concatenate([held, pool]))
        flags.append(np.r_[np.ones(len(held), bool), np.zeros(len(pool), bool)])
    empty = np.zeros(0, np.int64)
    return (np.asarray(counts, dtype=np.int64), np.concatenate(items).astype(np.int64) if items else empty,
            np.concatenate(flags) if flags else np.zeros(0, bool))


@dataclass
class Probe:
    """Exact normalized scores of a few items per user (held-out items + sampled negatives),
    per algorithm, in one layout for all: what the mix's AUC is computed from."""

    indptr: np.ndarray
    items: np.ndarray
    positive: np.ndarray
    values: dict[str, np.ndarray]
