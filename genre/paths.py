"""Every folder GENRE keeps, and the folders a browser user may make it read.

Kept (each under an environment variable an operator can point elsewhere):

- ``data_home()``: ``$GENRE_HOME``, else ``$XDG_DATA_HOME/genre`` (~/.local/share/genre): the run registry,
  and ``saved_models_dir()`` (trained runs saved with their models, one folder per owner).
- ``cache_dir()``: ``$GENRE_CACHE_DIR``, else ~/.cache/genre — with ``embeddings/`` (encoder outputs),
  ``llm_cache_dir()`` (LLM outputs), ``uploads_dir()`` (the upload store), ``models_dir()`` (model
  folders named by name) and ``generated/`` (LLM-written files).

Read: confinement of the paths a browser user can name, to the data roots the operator allows.
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
URL_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")



def data_home() -> Path:
    """``$GENRE_HOME``, else the user's data directory (XDG) / genre: where the run registry lives."""
    home = os.environ.get("GENRE_HOME")
    if home:
        return Path(home)
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "genre"


def registry_path() -> Path:
    """The run registry's SQLite file: ``data_home()/runs.sqlite``."""
    return data_home() / "runs.sqlite"


def saved_models_dir() -> Path:
    """``data_home()/saved-models``: trained runs saved with their models (``TrainedRun.save``), one
    sub-folder per owner (``genre.runs``); kept, not a cache: a served run is read from here."""
    return data_home() / "saved-models"


def cache_dir() -> Path:
    """``$GENRE_CACHE_DIR`` or ``~/.cache/genre``: every cache and the upload store."""
    return Path(os.environ.get("GENRE_CACHE_DIR") or Path.home() / ".cache" / "genre").expanduser()


def llm_cache_dir() -> Path:
    """``cache_dir()/llm``: LLM outputs (and the Hugging Face folder made from the packaged GGUF)."""
    return cache_dir() / "llm"


def uploads_dir() -> Path:
    """``cache_dir()/uploads``: where uploaded files are kept."""
    return cache_dir() / "uploads"


def upload_leases_dir() -> Path:
    """``cache_dir()/upload-leases``: one lease file per live app session naming the uploads it uses."""
    return cache_dir() / "upload-leases"


def models_dir() -> Path:
    """``cache_dir()/models``: where GENRE looks for model folders named by name."""
    return cache_dir() / "models"


def generated_dir() -> Path:
    """``cache_dir()/generated``: files the app's LLM generation writes for download."""
    return cache_dir() / "generated"


def data_roots() -> list[Path]:
    """Folders an imported config may read: ``GENRE_DATA_ROOTS`` (``os.pathsep``-separated) plus
    the upload store; without the variable, the bundled ``sample_data/`` and the upload store."""
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


def paths_confined() -> bool:
    """True in the hosted app's process (``confine_paths_in_data`` was called), False in the CLI."""
    return _PATHS_IN_DATA_CONFINED


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
    if isinstance(text, str) and URL_PATTERN.match(text.strip()):
        raise ConfigError(f"{what}: {text!r} is a URL; enrichment sources are files, not URLs — "
                          f"upload the file instead")


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loops, invalid names
        raise ConfigError(f"the path {str(path)!r} cannot be resolved ({exc.__class__.__name__})") from None
