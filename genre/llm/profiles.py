"""User profiling: an LLM sums up a user's recent history in a short line about their taste.

Embedded in the item-vector space (``genre.run.encoding`` does that from the saved frame), the
profile gives every user — including those with a single interaction — a vector to match
items against (``ProfileRecommender``), and gives the app a readable line about each user.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genre.data.dataset import Dataset
from genre.errors import ConfigError, DataError
from genre.llm.base import Generation, LLMClient
from genre.llm.prompts import PROFILE_TEMPLATE, check_template, render

logger = logging.getLogger("genre")

#: Fields a profile template may use.
PROFILE_FIELDS = ("titles", "genres", "n")


def recent_items(train: sp.csr_matrix, times: sp.csr_matrix, user: int, limit: int) -> np.ndarray:
    """The user's training items, most recent first (ties by lower index), at most ``limit``."""
    items = train.getrow(user).indices
    stamps = times.getrow(user).toarray().ravel()[items]
    order = np.lexsort((items, -stamps))
    return items[order][:limit]


def profile_users(
    dataset: Dataset,
    train: sp.csr_matrix,
    client: LLMClient,
    *,
    users: Sequence[int] | np.ndarray | None = None,
    template: str = PROFILE_TEMPLATE,
    max_titles: int = 10,
    times: sp.csr_matrix | None = None,
    generation: Generation | None = None,
) -> pd.DataFrame:
    """A short taste description per user from their ``max_titles`` most recent training items.

    Only ``train`` (user × item, nonzero = interaction) is read, so profiles never see
    held-out items. Recency comes from ``times`` (e.g. ``Features.interaction_times``) or,
    when None, from the dataset's timestamps. The template may use ``{titles}`` (one per
    line, most recent first), ``{genres}`` (the three most frequent genres among them) and
    ``{n}``. Users without training items get "" and cost no call. The ``ParseReport`` is in
    ``frame.attrs["parse_report"]``.

    Returns
    -------
    DataFrame with columns ``user`` (user index) and ``text``. Map ``user`` to raw ids
    (``dataset.user_ids``) before saving it as the ``profiles`` CSV that ``genre.run.encoding``
    embeds into ``Features.user_vectors``.
    """
    check_template(template, PROFILE_FIELDS)
    if max_titles < 1:
        raise ConfigError(f"max_titles must be at least 1, got {max_titles}")
    train = sp.csr_matrix(train)
    if train.shape != (dataset.n_users, dataset.n_items):
        raise DataError(f"the training matrix is {train.shape[0]} × {train.shape[1]} but the dataset "
                        f"has {dataset.n_users} users × {dataset.n_items} items")
    if times is None:
        times = dataset.matrix(values="timestamp")
    index = np.arange(dataset.n_users) if users is None else np.asarray(users, dtype=np.int64)
    if index.size and (index.min() < 0 or index.max() >= dataset.n_users):
        raise DataError(f"user indices must lie in [0, {dataset.n_users}); got {index.min()}..{index.max()}")
    titles = dataset.items["title"].astype(str).tolist()
    genres = list(dataset.items["genres"])
    prompts: dict[int, str] = {}
    for user in index:
        recent = recent_items(train, times, int(user), max_titles)
        if len(recent):
            prompts[int(user)] = render(template, _fields(recent, titles, genres))
    texts, report = (generation or Generation()).texts(client, list(prompts.values()))
    by_user = dict(zip(prompts, texts))
    logger.info("user profiles with %s: %s; %d users without training items", client.model_id,
                report, len(index) - len(prompts))
    frame = pd.DataFrame({"user": index,
                          "text": [by_user.get(int(u), "") for u in index]})
    frame.attrs["parse_report"] = report
    return frame


def _fields(recent: np.ndarray, titles: list[str], genres: list[Any]) -> dict[str, str]:
    counts = Counter(g for i in recent for g in genres[i])
    top = sorted(counts, key=lambda g: (-counts[g], g))[:3]
    return {"titles": "\n".join(f"- {titles[i]}" for i in recent),
            "genres": ", ".join(top) or "unknown", "n": str(len(recent))}
