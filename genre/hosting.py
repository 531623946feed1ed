"""Confinement of the paths a browser user can name: only data roots the operator allows.

Why: a config imported in the hosted app comes from a stranger. If its ``data.source`` could
name ``/etc/passwd`` or ``../../secrets.csv``, the server would read that file and quote it in
an error. Every path an imported config names must lie inside the upload store or one of the
operator's data roots (``GENRE_DATA_ROOTS``); URLs are refused outright. The CLI, run by the
machine's owner, does not call this and may read any path.

Examples
--------
>>> confine_path("/etc/passwd", what="data.source")         # doctest: +SKIP
Traceback (most recent call last):
...
genre.errors.ConfigError: data.source: '/etc/passwd' is outside the folders this app may read...
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from genre.errors import ConfigError

#: The bundled sample dataset (a default data root).
SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"

#: ``scheme:`` with a scheme of 2+ letters (``http://``, ``file:/``, ``data:``; not ``C:``).
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")

#: Encoder parameters that name files or folders on disk.
_PATH_PARAMS = ("images", "path", "ids")
#: Encoder parameters that may name a local model folder (or a hub id, which offline is no path).
_MODEL_PARAMS = ("model",)


def data_roots() -> list[Path]:
    """Folders an imported config may read: ``GENRE_DATA_ROOTS`` (``os.pathsep``-separated) plus
    the upload store; without the variable, the bundled ``sample_data/`` and the upload store."""
    from genre.uploads import uploads_dir

    raw = os.environ.get("GENRE_DATA_ROOTS")
    roots = [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()] if raw is not None \
        else [SAMPLE_DATA]
    roots.append(uploads_dir())  # the app's own uploads are always readable
    return [_resolve(r) for r in roots]


#: Set by the app (``confine_paths_in_data``): paths found inside uploaded data rows must lie
#: in a data root too. The CLI never sets it, so the machine's owner may name any file.
_PATHS_IN_DATA_CONFINED = False


def confine_paths_in_data() -> None:
    """Put this process in hosted mode for paths that data rows name (an image-path column).

    Why a process switch: those paths reach the encoders deep inside a run, long after the config
    was checked; the app process serves strangers, the CLI process serves the machine's owner.
    """
    global _PATHS_IN_DATA_CONFINED
    _PATHS_IN_DATA_CONFINED = True


def path_in_data(value: Any) -> Path | None:
    """A file path read from a data row, or None when it is blank or, in hosted mode, refused.

    A refused path counts as a missing file whether or not it exists, so the report's
    missing/unreadable counts reveal nothing about the server's files.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    if not _PATHS_IN_DATA_CONFINED:
        return Path(value)
    try:
        return confine_path(value, what="image path")
    except ConfigError:
        return None


def confine_path(path: str | os.PathLike[str], *, what: str) -> Path:
    """``path`` resolved (symlinks and ``..`` followed) if it lies inside a data root.

    Raises
    ------
    ConfigError
        ``path`` is a URL, or resolves outside every data root. The message names the rule and
        ``GENRE_DATA_ROOTS``; it never reads or quotes the file.
    """
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{what}: expected a file path, got {path!r}")
    refuse_url(text, what=what)
    if "\0" in text:
        raise ConfigError(f"{what}: the path contains a NUL character")
    resolved = _resolve(Path(text))
    for root in data_roots():
        if resolved == root or root in resolved.parents:
            return resolved
    raise ConfigError(f"{what}: {text!r} is outside the folders this app may read; a config imported "
                      f"here may only name uploaded files or files under the operator's data roots "
                      f"(GENRE_DATA_ROOTS) — upload the file on the Data page instead")


def refuse_url(path: str | os.PathLike[str], *, what: str) -> None:
    """ConfigError when ``path`` is a URL (``http://``, ``file:``...): GENRE reads files only, so
    a config can never make the server fetch anything (pandas would fetch a URL it is given)."""
    text = os.fspath(path)
    if isinstance(text, str) and _URL.match(text.strip()):
        raise ConfigError(f"{what}: {text!r} is a URL; enrichment sources are files, not URLs — "
                          f"upload the file instead")


def confine_config(config: Any) -> None:
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
            from genre.encoders.openai_embeddings import confine_params
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
    return (text.startswith(("/", ".", "~", "\\")) or _URL.match(text) is not None
            or ".." in Path(text).parts or Path(text).exists())


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loops, invalid names
        raise ConfigError(f"the path {str(path)!r} cannot be resolved ({exc.__class__.__name__})") from None
