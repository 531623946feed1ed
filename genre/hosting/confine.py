"""The hosted app's policy for an imported config: every path and URL it names is checked.

Why: a config imported in the hosted app comes from a stranger. Every path it names (data,
items, image zips and folders, enrichment, profiles, precomputed vectors, local model folders)
must lie inside a data root (``genre.paths.confine_path``), and an embeddings server it names
must pass the outbound allow-list. The CLI, run by the machine's owner, does not call this.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from genre.config import RunConfig
from genre.encoders.openai_embeddings import confine_params
from genre.errors import ConfigError
from genre.paths import URL_PATTERN, confine_path

#: Encoder parameters that name files or folders on disk.
_PATH_PARAMS = ("images", "path", "ids")
#: Encoder parameters that may name a local model folder (or a hub id, which offline is no path).
_MODEL_PARAMS = ("model",)


def confine_config(config: RunConfig) -> None:
    """Apply ``confine_path`` to every path a ``RunConfig`` names (data, items, image zips and
    folders, enrichment, profiles, precomputed vectors and id lists, local model folders).

    Raises
    ------
    ConfigError
        The first path outside the data roots (see ``confine_path``).
    """
    sources = config.data.source if isinstance(config.data.source, list) else [config.data.source]
    for i, source in enumerate(sources):
        confine_path(source, what="data.source" if len(sources) == 1 else f"data.source[{i}]")
    if config.data.items:
        confine_path(config.data.items, what="data.items")
    spaces = [("features", config.features)]  # the run's, and each algorithm's own (AlgorithmConfig.features)
    spaces += [(f"algorithms[{i}].features", a.features) for i, a in enumerate(config.algorithms)
               if getattr(a, "features", None) is not None]
    for at, features in spaces:
        _confine_features(features, at)


def _confine_features(features: Any, at: str) -> None:
    """``confine_config`` for one features section (``at`` names it in messages)."""
    if features.enrichment:
        confine_path(features.enrichment, what=f"{at}.enrichment")
    if features.profiles:
        confine_path(features.profiles, what=f"{at}.profiles")
    for modality in features.modalities:
        if modality.encoder == "openai-embeddings":  # outbound requests: the LLM server allow-list
            confine_params(modality.params, what=f"{at}.modalities[{modality.name}].params")
        for name, value in modality.params.items():
            where = f"{at}.modalities[{modality.name}].params.{name}"
            if name in _PATH_PARAMS and value is not None:
                if not isinstance(value, (str, os.PathLike)):
                    raise ConfigError(f"{where} must be a file path, got {type(value).__name__}")
                confine_path(value, what=where)
            elif name in _MODEL_PARAMS and isinstance(value, (str, os.PathLike)) and _looks_local(value):
                confine_path(value, what=where)


def _looks_local(value: str | os.PathLike[str]) -> bool:
    """A model named by a path (absolute, relative with ./ or ../, ~, or an existing folder)
    rather than a hub id such as ``sentence-transformers/all-MiniLM-L6-v2``."""
    text = os.fspath(value)
    return (text.startswith(("/", ".", "~", "\\")) or URL_PATTERN.match(text) is not None
            or ".." in Path(text).parts or Path(text).exists())
