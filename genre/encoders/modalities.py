"""Modalities: which item fields go through which encoder, and how much each counts.

The item vector is the concatenation of each modality's L2-normalized part scaled by
``sqrt(weight)``, then re-normalized. Before the re-normalization the dot product of two
items is exactly ``sum_m weight_m * cosine_m``; after it, for items that have content in every
modality, it is that weighted sum divided by ``sum_m weight_m``: a weighted average of the
per-modality cosines.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from genre.encoders.base import Progress, Vectors, l2_normalize
from genre.encoders.cache import EmbeddingCache, encode_with_report
from genre.encoders.categorical import split_categories
from genre.encoders.image import images_from_folder, images_from_zip
from genre.encoders.registry import ENCODER_NAMES, input_kind, make_encoder, needs_interactions
from genre.errors import ConfigError, DataError
from genre.paths import path_in_data

#: Modality parameters that say where the inputs are, not how to encode them.
_SOURCE_PARAMS = ("images",)


@dataclass
class Modality:
    """One part of the item vector.

    Parameters
    ----------
    name : str
        Unique label (shown in reports and the app).
    fields : list of str
        Item-table columns fed to the encoder; text fields are joined with " | ". ``"tags"``
        may come from ``item_text_override`` (leak-free tags), else the item table, else all
        of ``dataset.tags``. Image modalities take one column of file paths unless
        ``params["images"]`` names a zip / folder of images named by item id.
    encoder : str
        One of ``ENCODER_NAMES``.
    params : dict
        Keyword parameters of the encoder (plus ``images`` for image modalities).
    weight : float
        Relative importance (>= 0); 0 leaves the modality out.

    Examples
    --------
    >>> Modality("text", ["title", "genres"]).to_dict()["encoder"]
    'minilm'
    """

    name: str
    fields: list[str]
    encoder: str = "minilm"
    params: dict[str, Any] = field(default_factory=dict)
    weight: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for a YAML config."""
        return {"name": self.name, "fields": list(self.fields), "encoder": self.encoder,
                "params": dict(self.params), "weight": float(self.weight)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Modality":
        """Inverse of ``to_dict``; unknown keys and bad values raise ``ConfigError``."""
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise ConfigError(f"unknown modality key(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
        if "name" not in data:
            raise ConfigError(f"a modality needs a 'name', got keys {sorted(data)}")
        fields = data.get("fields") or []
        modality = cls(name=str(data["name"]), fields=[fields] if isinstance(fields, str) else list(fields),
                       encoder=data.get("encoder", "minilm"), params=dict(data.get("params") or {}),
                       weight=data.get("weight", 1.0))
        modality.validate()
        return modality

    def validate(self) -> None:
        """Raise ``ConfigError`` naming what is wrong."""
        if self.encoder not in ENCODER_NAMES:
            raise ConfigError(f"modality {self.name!r}: unknown encoder {self.encoder!r}; "
                              f"valid encoders: {', '.join(ENCODER_NAMES)}")
        if not isinstance(self.weight, (int, float)) or not math.isfinite(self.weight) or self.weight < 0:
            raise ConfigError(f"modality {self.name!r}: weight must be a number >= 0, got {self.weight!r}")
        kind = input_kind(self.encoder)
        if not self.fields and kind in ("text", "categories"):
            raise ConfigError(f"modality {self.name!r}: list at least one field for encoder {self.encoder!r}")
        if kind == "image" and "images" not in self.params and len(self.fields) != 1:
            raise ConfigError(f"modality {self.name!r}: an image modality takes one column of image paths, "
                              f"or params images=<zip or folder of images named by item id>")


@dataclass
class ItemVectors:
    """Item vectors of a dataset and how they were made.

    Attributes
    ----------
    vectors : ndarray or csr_matrix, shape (n_items, dim), float32
        Rows L2-normalized (zero rows for items with no content at all). Dense unless a part
        is sparse (TF-IDF, wide multi-hot).
    parts : dict of str to slice
        Columns of each modality in ``vectors``.
    report : dict of str to dict
        Per modality: ``encoder``, ``encoder_id``, ``dim``, ``weight``, ``seconds``,
        ``cache_hits``, ``cache_misses``, ``zero_rows`` and the encoder's own counts
        (``missing`` / ``unreadable`` images, ``extra`` ids...; ``flagged_items`` lists the
        item indices flagged).
    """

    vectors: Vectors
    parts: dict[str, slice]
    report: dict[str, dict[str, Any]]

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


def _tags_text(dataset: Any) -> list[str]:
    """All of ``dataset.tags`` per item, distinct tags joined by ", " (no leak filtering)."""
    texts = [""] * dataset.n_items
    if dataset.tags is None or len(dataset.tags) == 0:
        return texts
    frame = dataset.tags[["item", "tag"]].astype({"tag": str}).drop_duplicates()
    for item, tags in frame.groupby("item", sort=False)["tag"]:
        texts[int(item)] = ", ".join(tags)
    return texts


def _field_values(dataset: Any, name: str, override: dict[str, list[str]] | None) -> list[Any]:
    """Raw per-item values of one field (override, item column, or tags)."""
    if override and name in override:
        values = list(override[name])
        if len(values) != dataset.n_items:
            raise DataError(f"item_text_override[{name!r}] has {len(values)} texts for {dataset.n_items} items")
        return values
    if name in dataset.items.columns:
        return dataset.items[name].tolist()
    if name == "tags":
        return _tags_text(dataset)
    columns = [c for c in dataset.items.columns if c != "item_id"]
    raise ConfigError(f"no item field {name!r}; the item fields are: {', '.join(map(str, columns))}"
                      f"{', tags' if dataset.tags is not None else ''}")


def modality_inputs(dataset: Any, modality: Modality,
                    item_text_override: dict[str, list[str]] | None = None) -> list[Any]:
    """One encoder input per item (index order) for ``modality``."""
    kind = input_kind(modality.encoder)
    if kind == "item_id":
        return list(dataset.item_ids)
    if kind == "image":
        return _image_inputs(dataset, modality)
    if kind == "categories":

        prefix = len(modality.fields) > 1
        columns = [(f, _field_values(dataset, f, item_text_override)) for f in modality.fields]
        return [[f"{f}:{c}" if prefix else c for f, values in columns for c in split_categories(values[i])]
                for i in range(dataset.n_items)]
    texts = []
    for name in modality.fields:
        if (item_text_override and name in item_text_override) or name not in dataset.items.columns:
            texts.append(["" if v is None else str(v) for v in _field_values(dataset, name, item_text_override)])
        else:
            texts.append(dataset.item_text((name,)))
    return [" | ".join(t for t in row if t) for row in zip(*texts)]


def _image_inputs(dataset: Any, modality: Modality) -> list[Any]:
    source = modality.params.get("images")
    if source is None:
        return [path_in_data(v) for v in _field_values(dataset, modality.fields[0], None)]
    if isinstance(source, bytes) or Path(source).is_file():
        found: dict[Any, Any] = images_from_zip(source, dataset.item_ids)
    else:
        found = images_from_folder(source, dataset.item_ids)
    return [found.get(i) for i in dataset.item_ids]


def _encode_modality(dataset: Any, modality: Modality, cache: EmbeddingCache | bool,
                     progress: Progress | None, item_text_override: dict[str, list[str]] | None,
                     interactions: Any = None) -> tuple[Vectors, dict[str, Any]]:
    """One modality's unweighted part and its report."""
    began = time.perf_counter()
    params = {k: v for k, v in modality.params.items() if k not in _SOURCE_PARAMS}
    encoder = make_encoder(modality.encoder, **params)
    inputs = modality_inputs(dataset, modality, item_text_override)
    if needs_interactions(modality.encoder):
        if interactions is None:
            raise ConfigError(f"modality {modality.name!r}: encoder {modality.encoder!r} learns from the "
                              f"training interactions, so it is built when a run trains, not on its own")
        encoder.use_interactions(interactions, inputs)

    def step(done: int, total: int, message: str) -> None:
        if progress is not None:
            progress(done, total, f"{modality.name}: {message}")

    vectors, counts = encode_with_report(encoder, inputs, cache, step)
    flags = counts.pop("flags", None)
    nonzero = vectors.getnnz(axis=1) > 0 if sp.issparse(vectors) else np.any(vectors != 0, axis=1)
    report = {
        "encoder": modality.encoder, "encoder_id": encoder.id, "dim": int(vectors.shape[1]),
        "weight": float(modality.weight), "seconds": round(time.perf_counter() - began, 3),
        "zero_rows": int((~nonzero).sum()), **counts,
    }
    if flags is not None:
        report["flagged_items"] = np.flatnonzero(flags).tolist()
    return vectors, report


def build_item_vectors(
    dataset: Any,
    modalities: Sequence[Modality],
    *,
    cache: EmbeddingCache | None | bool = None,
    progress: Progress | None = None,
    item_text_override: dict[str, list[str]] | None = None,
    interactions: Any = None,
) -> ItemVectors:
    """Encode every modality of every item and concatenate the weighted parts.

    Each part is scaled by ``sqrt(weight)`` (see the module docstring); modalities with
    weight 0 are skipped. ``cache``: an ``EmbeddingCache``, None for the default one, False
    for none. ``item_text_override``: field → one text per item, replacing that field (the
    pipeline passes leak-free ``tags`` here). ``interactions``: the TRAINING frame (user, item,
    timestamp) for encoders that learn from it (``minilm-adapted``); the run core passes each fit's own.

    Examples
    --------
    >>> result = build_item_vectors(dataset, [Modality("text", ["title", "genres"]),
    ...                                       Modality("genre", ["genres"], "multi-hot", weight=0.5)])
    ... # doctest: +SKIP
    >>> result.vectors.shape, result.parts["genre"]                       # doctest: +SKIP
    ((9724, 404), slice(384, 404, None))
    """
    names = [m.name for m in modalities]
    if len(set(names)) != len(names):
        raise ConfigError(f"modality names must be unique, got {names}")
    for modality in modalities:
        modality.validate()
    active = [m for m in modalities if m.weight > 0]
    if not active:
        raise ConfigError("no modality with a weight above 0: give at least one modality a positive weight")
    cache = EmbeddingCache() if cache is None else cache
    blocks: list[Vectors] = []
    parts: dict[str, slice] = {}
    report: dict[str, dict[str, Any]] = {}
    start = 0
    for modality in active:
        vectors, report[modality.name] = _encode_modality(dataset, modality, cache, progress,
                                                          item_text_override, interactions)
        blocks.append(vectors * np.float32(math.sqrt(modality.weight)))
        parts[modality.name] = slice(start, start + vectors.shape[1])
        start += vectors.shape[1]
    if any(sp.issparse(b) for b in blocks):
        combined: Vectors = sp.hstack([sp.csr_matrix(b) for b in blocks], format="csr", dtype=np.float32)
    else:
        combined = np.hstack(blocks).astype(np.float32, copy=False)
    return ItemVectors(l2_normalize(combined), parts, report)
