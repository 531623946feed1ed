"""The hosted app's policy for an imported config: every path and URL it names is checked.

Why: a config imported in the hosted app comes from a stranger. Every path it names (data,
items, image zips and folders, enrichment, profiles, precomputed vectors, local model folders)
must lie inside a data root (``genre.paths.confine_path``), and an embeddings server it names
must pass the outbound allow-list. The CLI, run by the machine's owner, does not call this.

No answer tells whether a file exists: a path outside the roots, a path into the upload store
that is not one of the importing session's own uploads, and a model folder outside the roots
are refused with one message each, whether or not anything is there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable

from genre.config import RunConfig
from genre.encoders.openai_embeddings import confine_params
from genre.errors import ConfigError
from genre.paths import confine_path, uploads_dir

#: Encoder parameters that name files or folders on disk.
_PATH_PARAMS = ("images", "path", "ids")
#: Encoder parameters that may name a local model folder (or a hub id, which offline is no path).
_MODEL_PARAMS = ("model",)
#: A Hugging Face hub id: ``name`` or ``owner/name`` (letters, digits, ``-``, ``_``, ``.``).
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?", re.ASCII)


def confine_config(config: RunConfig, *, uploads: Iterable[str | os.PathLike[str]] | None = None) -> None:
    """Apply ``confine_path`` to every path a ``RunConfig`` names (data, items, image zips and
    folders, enrichment, profiles, precomputed vectors and id lists, local model folders).

    ``uploads``: the importing session's own upload folders (the app passes them); a path into
    the upload store outside them is refused like a path outside the roots, so a config cannot
    ask whether anyone uploaded a file, nor read another session's upload.

    Raises
    ------
    ConfigError
        The first path outside the data roots (see ``confine_path``).
    """
    check = _Checker(uploads)
    sources = config.data.source if isinstance(config.data.source, list) else [config.data.source]
    for i, source in enumerate(sources):
        check(source, what="data.source" if len(sources) == 1 else f"data.source[{i}]")
    if config.data.items:
        check(config.data.items, what="data.items")
    spaces = [("features", config.features)]  # the run's, and each algorithm's own (AlgorithmConfig.features)
    spaces += [(f"algorithms[{i}].features", a.features) for i, a in enumerate(config.algorithms)
               if getattr(a, "features", None) is not None]
    for at, features in spaces:
        _confine_features(features, at, check)


class _Checker:
    """``confine_path``, plus: upload-store paths only inside the session's own uploads."""

    def __init__(self, uploads: Iterable[str | os.PathLike[str]] | None) -> None:
        self.store = Path(uploads_dir()).resolve()
        self.own = None if uploads is None else [Path(u).resolve() for u in uploads]

    def __call__(self, path: str | os.PathLike[str], *, what: str) -> Path:
        resolved = confine_path(path, what=what)
        in_store = resolved == self.store or self.store in resolved.parents
        if self.own is not None and in_store and not any(resolved == o or o in resolved.parents for o in self.own):
            raise ConfigError(f"{what}: {os.fspath(path)!r} is outside the folders this app may read; a "
                              f"config imported here may only name files uploaded in this session or "
                              f"files under the operator's data roots (GENRE_DATA_ROOTS) — upload the "
                              f"file on the Data page instead")
        return resolved


def _confine_features(features: Any, at: str, check: Any = confine_path) -> None:
    """``confine_config`` for one features section (``at`` names it in messages)."""
    if features.enrichment:
        check(features.enrichment, what=f"{at}.enrichment")
    if features.profiles:
        check(features.profiles, what=f"{at}.profiles")
    for modality in features.modalities:
        if modality.encoder == "openai-embeddings":  # outbound requests: the LLM server allow-list
            confine_params(modality.params, what=f"{at}.modalities[{modality.name}].params")
        for name, value in modality.params.items():
            where = f"{at}.modalities[{modality.name}].params.{name}"
            if name in _PATH_PARAMS and value is not None:
                if not isinstance(value, (str, os.PathLike)):
                    raise ConfigError(f"{where} must be a file path, got {type(value).__name__}")
                check(value, what=where)
            elif name in _MODEL_PARAMS and isinstance(value, (str, os.PathLike)):
                _confine_model(value, where, check)


def _confine_model(value: str | os.PathLike[str], where: str, check: Any) -> None:
    """A hub id (``owner/name``) passes as a name, never looked up here; anything else is a path
    and is confined. Whether a same-named folder exists anywhere never changes the answer (it
    did: an existing relative folder was confined, a missing one passed as a hub id); in hosted
    mode the encoders never read a hub id as a folder of the working directory
    (``genre.encoders.sentence.resolve_model_dir``)."""
    text = os.fspath(value)
    if not (_HUB_ID.fullmatch(text) and ".." not in text.split("/")):
        check(text, what=where)
