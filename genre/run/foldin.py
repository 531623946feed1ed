"""Fold-in: recommendations for a history the run was not trained on (a new user, an edited one).

Each algorithm that can (``Recommender.fold_in``) scores the history without refitting; the
rows go through the very store representation a trained user's do (``build_store`` for one
user: normalized, top-C candidates, floors), and the run's weights mix them. An algorithm that
cannot fold in is left out of the mix and says why in one line.

Examples
--------
>>> trained.recommend_for_history([1, 50, 260], k=5)          # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from genre import fusion
from genre.algorithms import Recommender
from genre.errors import DataError, FoldInError
from genre.split import Split
from genre.store import build_store

#: Longest history accepted (the API bounds it the same way).
MAX_HISTORY = 1000


class _Row:
    """A fixed score row that the store builder can 'score' like a model (one user, index 0)."""

    def __init__(self, row: np.ndarray):
        self.row = row

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.repeat(self.row[None, :], len(np.atleast_1d(users)), axis=0)


def folded_parts(models: dict[str, Recommender], weights: dict[str, float], items: np.ndarray,
                 timestamps: np.ndarray | None, n_items: int, candidate_items: np.ndarray | None,
                 fusion_config, candidates: int, seed: int
                 ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, str]]:
    """Each algorithm's weighted, normalized score of a history over all items (the store's
    representation), the candidate mask, and the algorithms left out with the reason."""
    if len(items) == 0:
        raise DataError("the history is empty: give at least one item id")
    if len(items) > MAX_HISTORY:
        raise DataError(f"the history has {len(items)} items; at most {MAX_HISTORY} are accepted")
    rows, skipped = {}, {}
    for name, model in models.items():
        if weights.get(name, 0.0) <= 0:
            continue
        try:
            rows[name] = model.fold_in(items, timestamps)
        except FoldInError as error:
            skipped[name] = str(error)
    if not rows:
        raise FoldInError("no algorithm with a positive weight can score a new history: "
                          + "; ".join(skipped.values()))
    seen = np.unique(items)
    train = pd.DataFrame({"user": np.zeros(len(seen), np.int32), "item": seen.astype(np.int32),
                          "rating": np.ones(len(seen), np.float32), "timestamp": np.zeros(len(seen), np.int64)})
    split = Split(train=train, test=train.iloc[:0], n_users=1, n_items=n_items, candidate_items=candidate_items)
    store = build_store({name: _Row(row) for name, row in rows.items()}, split, np.array([0]), fusion_config,
                        candidates=candidates, seed=seed)
    parts, candidate = store.user_parts(0, {name: weights[name] for name in rows})
    return parts, candidate, skipped


def rank(total: np.ndarray, candidate: np.ndarray, excluded: np.ndarray, k: int) -> np.ndarray:
    """Top-k item indices: candidates by their mixed score first; the best of the rest only fill
    a list that runs short (as in evaluation)."""
    ranked = np.where(excluded, -np.inf, np.where(candidate, total, -np.inf))
    top = fusion.top_k(ranked[None, :], k)[0]
    top = top[np.isfinite(ranked[top])]
    if len(top) < k:
        rest = np.where(excluded | candidate, -np.inf, total)
        more = fusion.top_k(rest[None, :], k - len(top))[0]
        top = np.concatenate([top, more[np.isfinite(rest[more])]])
    return top


def excluded_items(n_items: int, seen: np.ndarray, candidate_items: np.ndarray | None) -> np.ndarray:
    """Items that may not be recommended: the ones seen, and those outside a cold-start split's candidates."""
    excluded = np.zeros(n_items, dtype=bool)
    excluded[seen] = True
    if candidate_items is not None:
        allowed = np.zeros(n_items, dtype=bool)
        allowed[candidate_items] = True
        excluded |= ~allowed
    return excluded


def history_frame(dataset, top: np.ndarray, parts: dict[str, np.ndarray], total: np.ndarray,
                  skipped: dict[str, str]) -> pd.DataFrame:
    """The fold-in's list: rank, item id, title, genres, score and each algorithm's contribution."""
    items = dataset.items
    frame = pd.DataFrame({"rank": np.arange(1, len(top) + 1), "item_id": dataset.item_ids[top],
                          "title": items["title"].to_numpy()[top], "genres": items["genres"].to_numpy()[top],
                          "score": total[top].astype(float)})
    for name, row in parts.items():
        frame[f"contrib_{name}"] = row[top].astype(float)
    frame.attrs["skipped"] = dict(skipped)
    return frame
