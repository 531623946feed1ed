"""Item enrichment: an LLM writes a short description (or keywords) per item from its content.

The output becomes one more item text field (``llm_text`` by default) that the encoders can
embed. It matters most for items nobody has interacted with yet (cold start), whose only
description is their content; for those, use only item-side fields (title, genres,
description), never tags (users write tags after interacting).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Sequence, TextIO

import numpy as np
import pandas as pd

from genre.data.dataset import Dataset
from genre.errors import ConfigError, DataError
from genre.llm.base import Generation, LLMClient
from genre.llm.prompts import ITEM_TEMPLATE, check_template, render

logger = logging.getLogger("genre")

#: Strategies of ``select_items``.
STRATEGIES = ("fewest_interactions", "first", "all")
#: Item columns an enrichment field may not overwrite.
_PROTECTED = ("item_id", "title", "genres")


def select_items(dataset: Dataset, strategy: str = "fewest_interactions",
                 n: int | None = None) -> np.ndarray:
    """Item indices worth enriching first: generation is slow, so pick a subset.

    ``"fewest_interactions"`` takes the ``n`` items with the fewest interactions (ties by lower
    index) — the ones collaborative models know least; ``"first"`` the first ``n`` indices;
    ``"all"`` every item (``n`` ignored).
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown item selection {strategy!r}; valid: {', '.join(STRATEGIES)}")
    if strategy == "all":
        return np.arange(dataset.n_items)
    if n is None or n < 1:
        raise ConfigError(f"select_items({strategy!r}) needs n >= 1 items, got {n}")
    if strategy == "first":
        return np.arange(min(n, dataset.n_items))
    counts = np.bincount(dataset.interactions["item"], minlength=dataset.n_items)
    return np.sort(np.argsort(counts, kind="stable")[:n])


def item_fields(dataset: Dataset, fields: Sequence[str]) -> dict[str, list[str]]:
    """One prompt-ready string per item for each of ``fields`` (lists joined by ", ").

    ``"tags"`` comes from ``dataset.tags`` (unique tags per item); every other field must be
    a column of ``dataset.items``.
    """
    available = [c for c in dataset.items.columns if c != "item_id"]
    if dataset.tags is not None and "tags" not in available:
        available.append("tags")
    unknown = [f for f in fields if f not in available]
    if unknown:
        raise ConfigError(f"unknown item field(s) {', '.join(unknown)}; this dataset has: "
                          f"{', '.join(available)}")
    values: dict[str, list[str]] = {}
    for name in fields:
        column = _item_tags(dataset) if name == "tags" and "tags" not in dataset.items.columns \
            else list(dataset.items[name])
        values[name] = [_as_text(v) for v in column]
    return values


def enrich_items(
    dataset: Dataset,
    client: LLMClient,
    *,
    items: Sequence[int] | np.ndarray | None = None,
    template: str = ITEM_TEMPLATE,
    fields: Sequence[str] = ("title", "genres"),
    generation: Generation | None = None,
) -> pd.DataFrame:
    """Generated text for ``items`` (default: all) as a frame ``item_id, text``.

    The template may use the ``fields`` by name (e.g. ``{title}``, ``{genres}``); a field it
    does not know is a ConfigError listing the available ones. Replies go through
    ``parse_reply``; the ``ParseReport`` is in ``frame.attrs["parse_report"]``.

    Examples
    --------
    >>> frame = enrich_items(ds, EmbeddedClient(), items=select_items(ds, "first", 3))  # doctest: +SKIP
    >>> list(frame.columns)  # doctest: +SKIP
    ['item_id', 'text']
    """
    check_template(template, fields)
    index = np.arange(dataset.n_items) if items is None else np.asarray(items, dtype=np.int64)
    if index.size and (index.min() < 0 or index.max() >= dataset.n_items):
        raise DataError(f"item indices must lie in [0, {dataset.n_items}); "
                        f"got {index.min()}..{index.max()}")
    values = item_fields(dataset, fields)
    prompts = [render(template, {name: values[name][i] for name in fields}) for i in index]
    texts, report = (generation or Generation()).texts(client, prompts)
    logger.info("item enrichment with %s: %s", client.model_id, report)
    frame = pd.DataFrame({"item_id": dataset.item_ids[index], "text": texts})
    frame.attrs["parse_report"] = report
    return frame


def load_enrichment(source: str | os.PathLike | TextIO) -> pd.DataFrame:
    """Read an enrichment CSV (columns ``item_id``, ``text``), checking it on the way in."""
    try:
        frame = pd.read_csv(source, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read the enrichment file {source}: {exc}") from exc
    missing = [c for c in ("item_id", "text") if c not in frame.columns]
    if missing:
        raise DataError(f"the enrichment file lacks column(s) {', '.join(missing)}; it needs "
                        f"item_id,text and has: {', '.join(map(str, frame.columns))}")
    duplicated = frame["item_id"][frame["item_id"].duplicated()]
    if len(duplicated):
        raise DataError(f"the enrichment file has {len(duplicated)} repeated item_id(s) "
                        f"(e.g. {', '.join(map(str, duplicated[:3]))}); keep one row per item")
    frame = frame[["item_id", "text"]].copy()
    frame["text"] = frame["text"].astype(str).str.strip()
    return frame


def with_enrichment(dataset: Dataset, frame: pd.DataFrame, field: str = "llm_text") -> Dataset:
    """A copy of ``dataset`` whose items carry ``frame``'s text as column ``field``.

    Items without a row get "" (encoders give them a zero vector). Rows for ids outside the
    catalog are ignored and counted in the copy's ``notes``.
    """
    if not isinstance(field, str) or not field or field in _PROTECTED:
        raise ConfigError(f"the enrichment field must be a new column name, not one of "
                          f"{', '.join(_PROTECTED)}; got {field!r}")
    lookup = dict(zip(frame["item_id"].astype(str), frame["text"].astype(str)))
    known = {str(i) for i in dataset.item_ids}
    outside = [i for i in lookup if i not in known]
    if lookup and len(outside) == len(lookup):
        raise DataError(f"none of the {len(lookup)} enrichment rows matches an item of "
                        f"{dataset.name} (e.g. item_id {outside[0]}); was it made for other data?")
    items = dataset.items.copy()
    items[field] = [lookup.get(str(i), "") for i in dataset.item_ids]
    notes = list(dataset.notes)
    if outside:
        notes.append(f"{len(outside)} enrichment rows name items outside the catalog and were ignored")
    covered = int(sum(bool(t) for t in items[field]))
    notes.append(f"{field}: LLM text for {covered} of {dataset.n_items} items")
    return dataclasses.replace(dataset, items=items, notes=notes)


def _item_tags(dataset: Dataset) -> list[list[str]]:
    tags = dataset.tags
    per_item: list[list[str]] = [[] for _ in range(dataset.n_items)]
    for item, tag in zip(tags["item"], tags["tag"]):
        text = str(tag).strip()
        if text and text not in per_item[item]:
            per_item[item].append(text)
    return per_item


def _as_text(value: object) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(str(v) for v in value) or "unknown"
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "unknown"
    return str(value).strip() or "unknown"
