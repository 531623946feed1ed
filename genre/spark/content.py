"""The content form's item vectors on Spark: the item table read on the driver and encoded once.

Item content is catalog-sized (items, not the log), so the local encoders (TF-IDF, multi-hot
genres, sentence-transformers, …) encode it once on the driver through the local engine's
embedding cache, and the unit vectors go to the user buckets like any item-sized model piece.
The item table is ``data.items``, else a MovieLens-layout folder's ``movies.csv`` (``load.item_table``). User-applied
tags are not read on Spark: a ``tags`` field encodes as empty text (the run's notes say so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genre.data import Dataset
from genre.data.loaders import load_items
from genre.errors import ConfigError
from genre.run.encoding import encode_items
from genre.spark.load import item_table


def check_content(config: Any) -> str | None:
    """The item file an enabled content entry will encode (None without one); a ConfigError, before Spark
    starts, for what the form cannot run."""

    entries = [a for a in config.algorithms if a.enabled and a.name == "content"]
    if not entries:
        return None
    for algo in entries:
        if algo.params.get("weighting", "uniform") != "uniform":
            raise ConfigError(f"content on Spark weighs a history uniformly; got weighting "
                              f"{algo.params['weighting']!r} (recency and rating weighting run on the local engine)")
    if not config.features.modalities:
        raise ConfigError("content needs item features: add a modality under features.modalities "
                          "(e.g. {name: text, fields: [title, genres], encoder: tfidf})")
    path = item_table(config.data)
    if path is None:
        raise ConfigError("content on Spark needs the item table: set data.items to the item file "
                          "(item ids with title, genres or text), or read a MovieLens-layout folder")
    return path


def spark_item_vectors(data: Any, config: Any, progress: Any = None) -> tuple[Any, list[str]]:
    """(item vectors in Spark's item index order, notes) for ``config.features``."""

    path = check_content(config)
    ids = data.ids["item"].toPandas().sort_values("index")["item"].to_numpy()
    catalog = Dataset.catalog(ids, load_items(path, config.data.mapping or None, encoding=config.data.encoding),
                              name=Path(path).name)
    vectors, _ = encode_items(catalog, None, config.features, None, progress)
    notes = list(catalog.notes)
    if any("tags" in m.fields for m in config.features.modalities):
        notes.append("content on Spark: user-applied tags are not read, so the tags field is empty text")
    return vectors, notes
