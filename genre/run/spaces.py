"""Users and items on one map: the vector spaces a trained run holds, with user vectors where it has them.

A collaborative model places users and items in ONE latent space (ALS/BPR factors, the two-tower's
towers, ContentToCF's map), and so do LLM-written profiles with their item texts; content vectors
get users as the normalized sum of their training items (the content recommender's profile).
Genre multi-hot has no user vectors. Users and items of a space are projected together (one
projection), so a user sits among the items the space scores highest for them.

Examples
--------
>>> import numpy as np
>>> space = VectorSpace("demo", "demo", np.eye(3, dtype=np.float32), np.ones((2, 3), np.float32))
>>> space.has_users, space.stacked().shape
(True, (5, 3))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

if TYPE_CHECKING:
    from genre.data import Dataset
    from genre.run.trained import TrainedRun

#: Users drawn at most (a seeded sample of the evaluated users above it): a map stays readable.
MAX_USERS = 3000


@dataclass
class VectorSpace:
    """Item vectors and, when the space has them, user vectors (rows = user index) in the same space."""

    key: str
    label: str
    items: np.ndarray | sp.spmatrix
    users: np.ndarray | sp.spmatrix | None = None

    @property
    def has_users(self) -> bool:
        return self.users is not None

    def stacked(self, users: np.ndarray | None = None) -> np.ndarray | sp.spmatrix:
        """Items then the ``users`` rows (all by default), one matrix: what one shared projection
        is computed on. Items only when the space has no user vectors."""
        if self.users is None:
            return self.items
        rows = self.users if users is None else self.users[np.asarray(users, dtype=int)]
        if sp.issparse(self.items) or sp.issparse(rows):
            return sp.vstack([sp.csr_matrix(self.items), sp.csr_matrix(rows)]).tocsr()
        return np.vstack([np.asarray(self.items, dtype=np.float32), np.asarray(rows, dtype=np.float32)])


def vector_spaces(trained: "TrainedRun") -> dict[str, VectorSpace]:
    """Every space of ``trained`` worth mapping: content (users = their history's profile),
    each model's latent space with its user vectors, genres (items only)."""
    spaces: dict[str, VectorSpace] = {}
    items = trained.item_vectors_
    if items is not None:
        spaces["content"] = VectorSpace("content", "Content vectors (users: sum of their training items)",
                                        items, _history_profiles(trained.split_.train_matrix(), items))
    for name, model in trained.models_.items():
        found = _model_space(model)
        if found is not None:
            spaces[name] = VectorSpace(name, f"{name}: {found[2]}", found[0], found[1])
    genres, names = trained.dataset_.genre_matrix()
    if names:
        spaces["genres"] = VectorSpace("genres", "Genres (multi-hot)", genres)
    return spaces


#: Popularity bands of the map: (share of the catalog, most popular first, cumulative; label).
POPULARITY_BANDS = ((0.01, "top 1 % of items"), (0.10, "top 1–10 %"), (0.50, "top 10–50 %"),
                    (1.0, "least popular 50 %"))


def map_colorings(dataset: "Dataset") -> list[str]:
    """How the map can colour items, best first: by genre only when some item has one (else every
    point would read "(no genre)"), then by popularity band and by cluster of the map."""
    genres = "genres" in dataset.items and any(len(g) for g in dataset.items["genres"])
    return ["genre"] * genres + ["popularity", "cluster"]


def item_coloring(dataset: "Dataset", by: str) -> tuple[str, np.ndarray]:
    """(legend title, one label per item) for colouring ``by`` "genre" (each item's first genre) or
    "popularity" (its band of ``POPULARITY_BANDS`` by interaction count); "cluster" needs the map's
    coordinates (``genre.viz.map_clusters``) and is not made here."""
    if by == "genre":
        return "genre", np.array([gs[0] if len(gs) else "(no genre)" for gs in dataset.items["genres"]], dtype=object)
    if by != "popularity":
        raise ValueError(f"item_coloring colours by genre or popularity, not {by!r}")
    counts = np.bincount(dataset.interactions["item"], minlength=dataset.n_items)
    ranks = np.empty(len(counts), dtype=np.int64)
    ranks[np.argsort(-counts, kind="stable")] = np.arange(len(counts))  # 0 = most interacted
    bands = np.searchsorted(np.ceil([share * len(counts) for share, _ in POPULARITY_BANDS]), ranks, side="right")
    labels = np.array([label for _, label in POPULARITY_BANDS], dtype=object)
    return "popularity", labels[np.minimum(bands, len(labels) - 1)]


def drawn_users(trained: "TrainedRun", seed: int = 42) -> np.ndarray:
    """User indices drawn on the map: the evaluated users, a seeded sample above ``MAX_USERS``."""
    users = np.asarray(trained.users_)
    if len(users) <= MAX_USERS:
        return users
    return np.sort(np.random.default_rng(seed).choice(users, MAX_USERS, replace=False))


def user_overlay(trained: "TrainedRun", user_id: Any, k: int = 10) -> dict[str, np.ndarray]:
    """Item positions of one user's training history and of the mix's top-``k`` for them."""
    dataset = trained.dataset_
    history = dataset.item_index(trained.history(user_id)["item_id"].to_numpy())
    recommended = dataset.item_index(trained.recommend(user_id, k=k, explain=False)["item_id"].to_numpy())
    return {"history": np.asarray(history, dtype=int), "recommended": np.asarray(recommended, dtype=int)}


def _history_profiles(train: sp.csr_matrix, items: np.ndarray | sp.spmatrix) -> np.ndarray | sp.spmatrix:
    """Each user's L2-normalized sum of training item vectors (zero rows for users without any)."""

    binary = train.copy()
    binary.data[:] = 1.0
    return normalize(binary @ items)


def _model_space(model: Any) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(items, users, description) of a model that holds both in one space, else None."""
    if hasattr(model, "user_factors_") and hasattr(model, "item_factors_"):  # ALS, BPR, ContentToCF's map
        return model.item_factors_, model.user_factors_, "collaborative factors (users and items)"
    if hasattr(model, "user_vectors_") and hasattr(model, "item_vectors_"):  # profile: LLM text space
        return model.item_vectors_, model.user_vectors_, "profile text space (users from their profiles)"
    if hasattr(model, "net_") and hasattr(model, "user_history_"):  # two-tower: the user tower's output
        return model.item_vectors_, model.user_vectors(), "two-tower space (user and item towers)"
    return None
