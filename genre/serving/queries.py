"""What the HTTP API answers, as plain functions of a loaded ``TrainedRun`` (tested without a server).

Every input is bounded here (k, history length) and every unknown id raises ``UnknownId``, so
the app only maps errors to status codes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from genre.errors import DataError, GenreError
from genre.run import TrainedRun

MAX_K = 100
MAX_HISTORY = 1000
MAX_BODY_BYTES = 1_000_000


class UnknownId(DataError):
    """A user or item id the saved run does not know (HTTP 404)."""


class BadInput(DataError):
    """A request outside the API's bounds or of the wrong shape (HTTP 400)."""


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise BadInput(f"k must be an integer from 1 to {MAX_K}, got {k!r}")
    return k


def _records(frame, columns=("rank", "item_id", "title", "score")) -> list[dict[str, Any]]:
    return [{name: _cell(value) for name, value in zip(columns, row)}
            for row in frame[list(columns)].itertuples(index=False)]


def _cell(value: Any) -> Any:
    """A plain JSON value: numpy scalars unwrapped, NaN / infinity as null."""
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


@dataclass(frozen=True)
class UserLists:
    """Every stored user's best ``MAX_K`` items of the run's mix, ranked once when serving starts.

    A served run never changes its weights, so a known user's answer is a slice of this table:
    no per-request scoring. Rows whose user has fewer than ``MAX_K`` candidates are marked
    incomplete and answered by ``TrainedRun.recommend`` (which fills them the same way).
    """

    users: np.ndarray       # stored user indices, sorted (the store's order)
    top: np.ndarray         # (users, MAX_K) item indices, best first
    scores: np.ndarray      # (users, MAX_K) their mixed scores
    complete: np.ndarray    # (users,) True when every listed item is a candidate

    @classmethod
    def of(cls, trained: TrainedRun) -> "UserLists":
        store, weights = trained.store_, trained.weights_
        counts = np.diff(store.indptr)
        top = store.top_k(weights, MAX_K)
        mixed = store.mix(weights)
        # the mixed score of each listed candidate, found in its user's candidate row (a loop over
        # stored users, once at startup: the rows are ragged)
        scores = np.full(top.shape, np.nan, dtype=np.float64)
        complete = counts >= MAX_K
        for row in np.flatnonzero(complete):
            lo, hi = store.indptr[row], store.indptr[row + 1]
            order = np.argsort(store.items[lo:hi], kind="stable")
            where = order[np.searchsorted(store.items[lo:hi], top[row], sorter=order)]
            scores[row] = mixed[lo + where]
        return cls(store.users, top, scores, complete)

    def row(self, user: int) -> int | None:
        row = int(np.searchsorted(self.users, user))
        found = row < len(self.users) and self.users[row] == user and self.complete[row]
        return row if found else None


def user_recommendations(trained: TrainedRun, user_id: str, k: int, lists: UserLists | None = None
                         ) -> dict[str, Any]:
    """The run's top-k for a training user (raw id), as ``TrainedRun.recommend`` ranks them
    (read from ``lists`` when given and it holds the user)."""
    k = check_k(k)
    dataset = trained.dataset_
    try:
        user = int(dataset.user_index(user_id)[0])
    except DataError:
        raise UnknownId(f"unknown user id {user_id!r}") from None
    raw = dataset.user_ids[user]
    row = None if lists is None else lists.row(user)
    if row is None:
        return {"user_id": _cell(raw), "k": k, "items": _records(trained.recommend(raw, k=k, explain=False))}
    return {"user_id": _cell(raw), "k": k, "items": _listed(trained, lists.top[row, :k], lists.scores[row, :k])}


def _listed(trained: TrainedRun, top: np.ndarray, scores: np.ndarray) -> list[dict[str, Any]]:
    """The answer's items (rank, item id, title, score) straight from arrays: no table per request."""
    dataset = trained.dataset_
    titles, ids = dataset.items["title"].to_numpy(), dataset.item_ids
    return [{"rank": r + 1, "item_id": _cell(ids[i]), "title": _cell(titles[i]), "score": _cell(float(score))}
            for r, (i, score) in enumerate(zip(top, scores))]


def history_recommendations(trained: TrainedRun, body: Any) -> dict[str, Any]:
    """The top-k for a posted history ``{"items": [...], "timestamps": [...]?, "k": 10}`` (fold-in)."""
    if not isinstance(body, dict):
        raise BadInput('the body must be a JSON object like {"items": [1, 2], "k": 10}')
    unknown = set(body) - {"items", "timestamps", "k"}
    if unknown:
        raise BadInput(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}; valid: items, timestamps, k")
    items, stamps, k = body.get("items"), body.get("timestamps"), check_k(body.get("k", 10))
    if not isinstance(items, list) or not items or not all(isinstance(i, (int, str)) for i in items):
        raise BadInput("items must be a non-empty list of item ids (numbers or strings)")
    if len(items) > MAX_HISTORY:
        raise BadInput(f"items holds {len(items)} ids; at most {MAX_HISTORY} are accepted")
    if stamps is not None and (not isinstance(stamps, list) or len(stamps) != len(items) or not all(
            isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) for t in stamps)):
        raise BadInput("timestamps must be a list of numbers, one per item")
    try:
        trained.dataset_.item_index(items)
    except DataError as error:
        raise UnknownId(str(error)) from None
    top, total, _, skipped = trained.rank_history(items, k=k, timestamps=stamps)
    return {"k": k, "items": _listed(trained, top, total[top]), "skipped": skipped}


def similar_items(trained: TrainedRun, item_id: str, k: int) -> dict[str, Any]:
    """The k items most similar to one: cosine of the content vectors, or of the items' training
    users when the run has no content vectors."""
    k = check_k(k)
    dataset = trained.dataset_
    try:
        item = int(dataset.item_index(item_id)[0])
    except DataError:
        raise UnknownId(f"unknown item id {item_id!r}") from None
    space = trained.features_.item_vectors
    if space is None:
        space = sp.csr_matrix(trained.split_.train_matrix().T)
    unit = normalize(space)
    sims = unit @ unit[item].T
    sims = np.asarray(sims.todense() if sp.issparse(sims) else sims, dtype=np.float64).ravel()
    sims[item] = -np.inf
    top = np.lexsort((np.arange(len(sims)), -sims))[:k]
    top = top[np.isfinite(sims[top])]
    titles = dataset.items["title"].to_numpy()
    return {"item_id": _cell(dataset.item_ids[item]), "k": k,
            "items": [{"rank": r + 1, "item_id": _cell(dataset.item_ids[i]), "title": str(titles[i]),
                       "similarity": float(sims[i])} for r, i in enumerate(top)]}


def run_info(trained: TrainedRun) -> dict[str, Any]:
    """The run's config, metrics, live weights and manifest summary."""
    result = getattr(trained, "result_", None)
    metrics = {} if result is None else {
        name: {k: (None if not math.isfinite(v) else float(v)) for k, v in row.items()}
        for name, row in result.metrics.to_dict(orient="index").items()}
    manifest = getattr(trained, "manifest_", {}) or {}
    return {"config": trained.config.to_dict(), "metrics": metrics, "weights": dict(trained.weights_),
            "genre_version": manifest.get("genre_version"), "sizes": manifest.get("sizes", {}),
            "bytes": manifest.get("bytes")}


__all__ = [
    "MAX_BODY_BYTES",
    "MAX_HISTORY",
    "MAX_K",
    "BadInput",
    "GenreError",
    "UnknownId",
    "UserLists",
    "check_k",
    "history_recommendations",
    "run_info",
    "similar_items",
    "user_recommendations",
]
