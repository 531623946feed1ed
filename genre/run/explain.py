"""Why an item was recommended: per-algorithm contributions, the history items behind it, shared genres.

Contributions are each algorithm's weight × normalized score, so they add up to the fused score
exactly. "because" comes from the algorithm that contributed most to that item, in that model's
own terms: for a linear item-to-item model (item-kNN, sequential, EASE) the history items whose
weight towards the item is largest (for sequential, among the recent items it follows); for a
model with item vectors (ALS, BPR, two-tower, content, ContentToCF…) the history items nearest to
it in that space. Popularity and genre preference name no items (their reason is the item's
popularity or genres). So a shared year or a stopword in two titles never explains a
recommendation unless the model that scored it reads titles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from genre.algorithms import Recommender
from genre.data import Dataset
from genre.fusion import top_k
from genre.split import Split


def nearest_history(vectors, items: np.ndarray, history: np.ndarray, n: int = 3) -> list[list[int]]:
    """For each of ``items``, up to ``n`` history item indices by cosine of their (unit) vectors."""
    if len(history) == 0 or vectors is None:
        return [[] for _ in items]
    sims = vectors[items] @ vectors[history].T
    return _strongest(np.asarray(sims.todense() if sp.issparse(sims) else sims), history, n)


def explain_recommendations(dataset: Dataset, split: Split, models: dict[str, Recommender], user: int,
                            top: np.ndarray, parts: dict[str, np.ndarray], total: np.ndarray,
                            explain: bool = True) -> pd.DataFrame:
    """Table of the recommended ``top`` items of one user, with explanations when asked.

    ``because`` (titles) and ``because_ids`` hold each item's reasons as lists, ``explained_by``
    the algorithm they come from (the largest contribution).
    """
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
    leaders = [max(models, key=lambda name: parts[name][item]) if models else None for item in top]
    reasons: list[list[int]] = [[] for _ in top]
    for name in dict.fromkeys(leader for leader in leaders if leader is not None):
        rows = [i for i, leader in enumerate(leaders) if leader == name]
        for i, found in zip(rows, model_reasons(models[name], user, top[rows], history)):
            reasons[i] = found
    titles = items["title"].to_numpy()
    frame["explained_by"] = leaders
    frame["because_ids"] = [dataset.item_ids[row].tolist() for row in reasons]
    frame["because"] = [[str(titles[j]) for j in row] for row in reasons]
    liked_genres = _top_genres(items["genres"].to_numpy()[history])
    frame["shared_genres"] = [[g for g in gs if g in liked_genres] for gs in frame["genres"]]
    return frame


def model_reasons(model: Recommender, user: int, items: np.ndarray, history: np.ndarray, n: int = 3
                  ) -> list[list[int]]:
    """Up to ``n`` history items behind each of ``items`` in ``model``'s own terms (module docstring).

    Read from the fitted state each family of models shares — its item × item weights or its item
    vectors — so one function serves every algorithm; a model with neither names no items.
    """
    recent = getattr(model, "queries_", None)  # sequential: only the recent items it follows count
    if recent is not None:
        history = np.intersect1d(history, recent[user].indices)
    if len(history) == 0 or len(items) == 0:
        return [[] for _ in items]
    for name in ("similarity_", "weights_"):  # item × item: row h, column i = h's weight towards i
        weights = getattr(model, name, None)
        if weights is not None and getattr(weights, "ndim", 0) == 2 and weights.shape[0] == weights.shape[1]:
            block = weights[history][:, items]
            return _strongest(np.asarray(block.todense() if sp.issparse(block) else block).T, history, n)
    for name in ("item_factors_", "item_vectors_"):
        vectors = getattr(model, name, None)
        if vectors is not None and vectors.shape[0] > int(max(items.max(), history.max())):
            return nearest_history(normalize(vectors), items, history, n)
    return [[] for _ in items]


def _strongest(affinity: np.ndarray, history: np.ndarray, n: int) -> list[list[int]]:
    """For each row of (items × history) ``affinity``, the ``n`` history items of largest positive value."""
    order = np.argsort(-affinity, axis=1, kind="stable")[:, :n]
    return [[int(history[j]) for j in row if affinity[i, j] > 0] for i, row in enumerate(order)]


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
