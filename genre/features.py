"""What content-aware recommenders receive besides the interaction matrix."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp


@dataclass
class Features:
    """Item-side (and optional user-side) inputs for ``Recommender.fit``.

    Attributes
    ----------
    item_vectors : ndarray or scipy.sparse CSR, shape (n_items, d), float32, or None
        Content vectors of every catalog item (rows L2-normalized, zero rows allowed for
        items without content), e.g. the weighted concatenation of encoder outputs. Sparse
        when a part is too wide to densify (TF-IDF).
    item_genres : csr_matrix, shape (n_items, n_genres), or None
        Binary genre / category membership.
    genre_names : list of str
        Column names of ``item_genres``.
    interaction_times : csr_matrix, shape (n_users, n_items), or None
        Latest timestamp of each training pair (same sparsity as the training matrix),
        for recency weighting.
    interaction_ratings : csr_matrix, shape (n_users, n_items), or None
        Latest rating of each training pair, for rating weighting.
    user_vectors : ndarray, shape (n_users, d), float32, or None
        Per-user text vectors (e.g. an embedded LLM-written profile) in the item-vector space.
    spaces : dict of str to item vectors
        Per-algorithm item-vector spaces (``AlgorithmConfig.features``), keyed by the entry's
        name; an algorithm named here is fitted on its own vectors instead of ``item_vectors``.
    """

    item_vectors: np.ndarray | sp.csr_matrix | None = None
    item_genres: sp.csr_matrix | None = None
    genre_names: list[str] = field(default_factory=list)
    interaction_times: sp.csr_matrix | None = None
    interaction_ratings: sp.csr_matrix | None = None
    user_vectors: np.ndarray | None = None
    spaces: dict[str, np.ndarray | sp.csr_matrix] = field(default_factory=dict)

    def for_algorithm(self, name: str) -> "Features":
        """These features as algorithm ``name`` sees them: its own item vectors when it has a space."""
        if name not in self.spaces:
            return self

        return replace(self, item_vectors=self.spaces[name])
