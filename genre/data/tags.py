"""User-applied tags: indexing them and turning them into leak-free item text.

A tag is written by a user after meeting an item, so a tag that a user applied to one of
their own held-out items reveals that interaction (docs/benchmark.md). ``item_tag_text`` drops
such tags before joining the rest into one text per item.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from genre.data.dataset import Dataset


def index_tags(tags: pd.DataFrame, dataset: Dataset) -> tuple[pd.DataFrame, list[str]]:
    """Raw-id tags (``user``, ``item``, ``tag``, ``timestamp``) under the dataset's indices.

    Tags on items outside the catalog, or by users without interactions, have no index and are
    dropped (and noted).
    """
    users = pd.Index(dataset.user_ids).get_indexer(tags["user"])
    items = pd.Index(dataset.item_ids).get_indexer(tags["item"])
    known = (users >= 0) & (items >= 0)
    frame = pd.DataFrame({
        "user": users[known].astype(np.int32), "item": items[known].astype(np.int32),
        "tag": tags["tag"].to_numpy()[known], "timestamp": tags["timestamp"].to_numpy(np.int64)[known],
    })
    dropped = int((~known).sum())
    if not dropped:
        return frame, []
    return frame, [f"{dropped} tags are on items or by users outside the interactions and were left out"]


def leak_free_tags(dataset: Dataset, exclude: pd.DataFrame | None = None) -> pd.DataFrame:
    """``dataset.tags`` without the tags a user applied to one of their own rows in ``exclude``.

    ``exclude`` holds held-out interactions (``user``, ``item`` indices), e.g. a TEST split.
    """
    tags = dataset.tags if dataset.tags is not None else pd.DataFrame(
        {"user": [], "item": [], "tag": [], "timestamp": []})
    if exclude is None or len(exclude) == 0 or len(tags) == 0:
        return tags
    n_items = np.int64(dataset.n_items)
    held_out = exclude["user"].to_numpy(np.int64) * n_items + exclude["item"].to_numpy(np.int64)
    pairs = tags["user"].to_numpy(np.int64) * n_items + tags["item"].to_numpy(np.int64)
    return tags[~np.isin(pairs, held_out)]


def item_tag_text(dataset: Dataset, exclude: pd.DataFrame | None = None) -> list[str]:
    """One text per item index: its distinct tags joined by ", " ("" for untagged items).

    Tags are compared without case (the first spelling is kept) and listed in the order of
    the tag table; see ``leak_free_tags`` for ``exclude``.

    Examples
    --------
    >>> frame = pd.DataFrame({"user": [1, 2], "item": [7, 8]})
    >>> ds = Dataset.from_frame(frame)
    >>> ds.tags = pd.DataFrame({"user": [0, 1, 1], "item": [0, 0, 1], "tag": ["fun", "Fun", "dark"],
    ...                         "timestamp": [0, 0, 0]})
    >>> item_tag_text(ds), item_tag_text(ds, exclude=pd.DataFrame({"user": [1], "item": [1]}))
    (['fun', 'dark'], ['fun', ''])
    """
    tags = leak_free_tags(dataset, exclude)
    per_item: dict[int, dict[str, str]] = {}
    for item, tag in zip(tags["item"].tolist(), tags["tag"].tolist()):
        per_item.setdefault(item, {}).setdefault(tag.lower(), tag)
    return [", ".join(per_item[i].values()) if i in per_item else "" for i in range(dataset.n_items)]
