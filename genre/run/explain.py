"""Why an item was recommended: per-algorithm contributions, nearest history items, shared genres.

Contributions are each algorithm's weight × normalized score, so they add up to the fused
score exactly; "because" names the history items most similar to the recommendation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from genre.data import Dataset
from genre.features import Features
from genre.fusion import top_k
from genre.split import Split


def nearest_history(vectors, items: np.ndarray, history: np.ndarray, n: int = 3) -> list[list[int]]:
    """For each of ``items``, up to ``n`` history item indices by cosine of their vectors."""
    if len(history) == 0 or vectors is None:
        return [[] for _ in items]
    sims = vectors[items] @ vectors[history].T
    sims = np.asarray(sims.todense() if sp.issparse(sims) else sims)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :n]
    return [[int(history[j]) for j in row if sims[i, j] > 0] for i, row in enumerate(order)]


def explain_recommendations(dataset: Dataset, split: Split, features: Features, user: int, top: np.ndarray,
                            parts: dict[str, np.ndarray], total: np.ndarray,
                            explain: bool = True) -> pd.DataFrame:
    """Table of the recommended ``top`` items of one user, with explanations when asked."""
    items = dataset.items
    frame = pd.DataFrame({
        "rank": np.arange(1, len(top) + 1),
        "item_id": dataset.item_ids[top],
        "title": items["title"].to_numpy()[top],
        "genres": items["genres"].to_numpy()[top],
        "score": total[top].astype(float),
    })
    held_out = split.test_matrix()[user].toarray()[0] > 0
    frame["held_out"] = held_out[top]
    if not explain:
        return frame
    for name, row in parts.items():
        frame[f"contrib_{name}"] = row[top].astype(float)
    history = split.train_matrix()[user].indices
    neighbours = nearest_history(_similarity_space(split, features), top, history)
    titles = items["title"].to_numpy()
    frame["because"] = [", ".join(titles[j] for j in row) for row in neighbours]
    liked_genres = _top_genres(items["genres"].to_numpy()[history])
    frame["shared_genres"] = [[g for g in gs if g in liked_genres] for gs in frame["genres"]]
    return frame


def _similarity_space(split: Split, features: Features):
    """Content vectors when there are any, else each item's column of training users (co-occurrence)."""
    if features.item_vectors is not None:
        return features.item_vectors
    return normalize(split.train_matrix().T.tocsr())


def _top_genres(genre_lists: np.ndarray, n: int = 5) -> set[str]:
    counts = pd.Series([g for gs in genre_lists for g in gs]).value_counts()
    return set(counts.index[:n])


def text_matches(dataset: Dataset, item_index: np.ndarray, query: np.ndarray, k: int = 10) -> pd.DataFrame:
    """The ``k`` items whose vectors in ``item_index`` are closest to the encoded free-text ``query``."""
    sims = np.asarray(item_index @ query.T).ravel()
    top = top_k(sims[None, :], k)[0]
    items = dataset.items
    return pd.DataFrame({"rank": np.arange(1, len(top) + 1), "item_id": dataset.item_ids[top],
                         "title": items["title"].to_numpy()[top], "genres": items["genres"].to_numpy()[top],
                         "similarity": sims[top].astype(float)})
