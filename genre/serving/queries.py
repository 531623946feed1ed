"""What the HTTP API answers, as plain functions of a loaded ``TrainedRun`` (tested without a server).

Every input is bounded here (k, history length) and every unknown id raises ``UnknownId``, so
the app only maps errors to status codes.
"""

from __future__ import annotations

import math
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
    out = []
    for row in frame[list(columns)].itertuples(index=False):
        record = {}
        for name, value in zip(columns, row):
            value = value.item() if isinstance(value, np.generic) else value
            record[name] = None if isinstance(value, float) and not math.isfinite(value) else value
        out.append(record)
    return out


def user_recommendations(trained: TrainedRun, user_id: str, k: int) -> dict[str, Any]:
    """The run's top-k for a training user (raw id), as ``TrainedRun.recommend`` ranks them."""
    k = check_k(k)
    try:
        raw = trained.dataset_.user_ids[int(trained.dataset_.user_index(user_id)[0])]
    except DataError:
        raise UnknownId(f"unknown user id {user_id!r}") from None
    frame = trained.recommend(raw, k=k, explain=False)
    return {"user_id": _plain(raw), "k": k, "items": _records(frame)}


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
    frame = trained.recommend_for_history(items, k=k, timestamps=stamps)
    return {"k": k, "items": _records(frame), "skipped": frame.attrs.get("skipped", {})}


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
    return {"item_id": _plain(dataset.item_ids[item]), "k": k,
            "items": [{"rank": r + 1, "item_id": _plain(dataset.item_ids[i]), "title": str(titles[i]),
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


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


__all__ = [
    "MAX_BODY_BYTES",
    "MAX_HISTORY",
    "MAX_K",
    "BadInput",
    "GenreError",
    "UnknownId",
    "check_k",
    "history_recommendations",
    "run_info",
    "similar_items",
    "user_recommendations",
]
