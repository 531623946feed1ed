"""Cached work shared across reruns: data loading, table previews, projections, models.

``st.cache_data`` for values (each caller gets its own copy), ``st.cache_resource`` for
loaded models (one shared instance). Every function is one call into ``genre``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st


def uploads_dir() -> Path:
    """Where uploaded files are kept, so an exported config can name them by path."""
    from genre.encoders import default_cache_dir

    return default_cache_dir() / "uploads"


# Uploads are written to disk, not only parsed in memory, because an exported YAML config must
# name real files for ``python -m genre run`` to replay the session. To keep that safe, nothing
# the browser sends becomes a path component: the folder is a hash of the content, the file name
# is sanitised (word characters, dot and dash; the extension kept, which the loaders and the
# preset detection read; the length capped) and each file is written atomically.
def save_uploads(files: list[Any]) -> list[Path]:
    """Write uploaded files to ``uploads_dir()/<content hash>/<safe name>`` and return their paths.

    The folder name is the hash of every file's safe name and bytes, so uploading the same files
    again reuses the folder and the cached dataset.

    Raises
    ------
    DataError
        The files cannot be stored (disk full, no permission): the message names the folder.
    """
    from genre.errors import DataError

    names: list[str] = []
    for f in files:
        name = safe = safe_file_name(f.name)
        n = 1
        while name in names:  # two uploads that sanitise alike must not share a file
            n += 1
            name = f"{Path(safe).stem}-{n}{Path(safe).suffix}"
        names.append(name)
    digest = hashlib.sha256()
    for f, name in zip(files, names):
        digest.update(name.encode() + b"\0" + f.getvalue())
    folder = uploads_dir() / digest.hexdigest()[:16]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for f, name in zip(files, names):
            if not (folder / name).exists():  # same hash, same name: same bytes already there
                handle, partial = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
                with os.fdopen(handle, "wb") as out:
                    out.write(f.getvalue())
                os.replace(partial, folder / name)  # atomic: a crash never leaves a half file to reuse
    except OSError as exc:
        raise DataError(f"cannot store the uploaded files in {folder}: {exc.strerror or exc}; "
                        f"free some disk space or set GENRE_CACHE_DIR to a writable folder") from exc
    return [folder / name for name in names]


def safe_file_name(name: str, max_stem: int = 60) -> str:
    """``name`` as a plain file name: no folders, only word characters, ``.`` and ``-``, short.

    >>> safe_file_name("../../My ratings (2024).CSV")
    'My_ratings_2024.csv'
    """
    base = re.split(r"[\\/]", name)[-1]
    suffix = Path(base).suffix if re.fullmatch(r"\.\w{1,10}", Path(base).suffix, re.ASCII) else ""
    stem = re.sub(r"[^\w.-]+", "_", base[:len(base) - len(suffix)], flags=re.ASCII).strip("._-")
    return (stem[:max_stem] or "upload") + suffix.lower()


@st.cache_data(show_spinner=False, max_entries=16)
def read_head(name: str, content: bytes, rows: int = 200) -> pd.DataFrame:
    """The first ``rows`` rows of an uploaded table (for the preview and the column guess)."""
    from genre.data import read_table

    buffer = io.BytesIO(content)
    buffer.name = name
    return read_table(buffer).head(rows)


@st.cache_data(show_spinner="Loading data…", max_entries=4)
def load_data(data: dict[str, Any], name: str | None = None) -> Any:
    """The ``Dataset`` a ``DataConfig`` (as a dict) describes — the same loader the CLI uses."""
    from genre.config import RunConfig
    from genre.pipeline import load_from_config

    dataset = load_from_config(RunConfig.from_dict({"data": data}))
    if name:
        dataset.name = name
    return dataset


def embedding_cache() -> Any:
    """The embedding cache the pipeline uses (so encoding here also speeds up training)."""
    from genre.encoders import EmbeddingCache, default_cache_dir

    return EmbeddingCache(default_cache_dir())


@st.cache_data(show_spinner="Projecting to 2-D…", max_entries=16)
def projection(key: str, _vectors: Any, method: str, seed: int) -> np.ndarray:
    """2-D coordinates of ``_vectors``; ``key`` identifies them (data, features, run)."""
    from genre.viz import project_2d

    return project_2d(_vectors, method=method, seed=seed)


@st.cache_data(show_spinner=False, max_entries=16)
def map_clusters(key: str, _coords: np.ndarray, seed: int) -> np.ndarray:
    """Cluster labels of a cached projection (``key`` names the projection)."""
    from genre.viz import map_clusters as clusters

    return clusters(_coords, 8, seed)


@st.cache_resource(show_spinner=False, max_entries=4)
def llm_client(kind: str, options: tuple[tuple[str, str], ...] = ()) -> Any:
    """One shared LLM client per (kind, options): the embedded model loads only once."""
    from genre.llm import make_client

    return make_client(kind, **dict(options))


@st.cache_resource(show_spinner=False)
def output_cache() -> Any:
    """The on-disk LLM output cache (one connection for the whole server)."""
    from genre.llm import OutputCache

    return OutputCache()


@st.cache_data(show_spinner=False, max_entries=8)
def tagging_quality(_dataset: Any, key: str, encoder: str, fields: tuple[str, ...]) -> pd.DataFrame:
    """How well a dense text encoder's vectors predict genres (``key`` identifies the dataset)."""
    from genre.encoders import encode_cached, make_encoder
    from genre.llm import evaluate_tagging, label_texts

    model = make_encoder(encoder)
    vectors = np.asarray(encode_cached(model, _dataset.item_text(fields), embedding_cache()))
    genres, labels = _dataset.genre_matrix()
    return evaluate_tagging(vectors, genres, labels, label_vectors=np.asarray(model.encode(label_texts(labels))))
