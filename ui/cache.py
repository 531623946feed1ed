"""Cached work shared across reruns: data loading, table previews, projections, models.

``st.cache_data`` for values (each caller gets its own copy), ``st.cache_resource`` for
loaded models (one shared instance). Every function is one call into ``genre``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import streamlit as st


def save_uploads(files: list[Any], in_use: Iterable[str | Path] = ()) -> list[Path]:
    """Store uploads under the quota (``genre.hosting.uploads.save_uploads``); ``in_use``: this
    session's earlier upload paths, which pruning must keep."""
    from genre.hosting.uploads import save_uploads as store

    return store(files, in_use=in_use)


@st.cache_data(show_spinner=False, max_entries=16)
def read_head(name: str, content: bytes, rows: int | None = 200) -> pd.DataFrame:
    """The first ``rows`` rows of an uploaded table (all when None), for the preview and the column guess."""
    from genre.data import read_table

    buffer = io.BytesIO(content)
    buffer.name = name
    table = read_table(buffer)
    return table if rows is None else table.head(rows)


@st.cache_data(show_spinner="Loading data…", max_entries=4)
def load_data(data: dict[str, Any], name: str | None = None) -> Any:
    """The ``Dataset`` a ``DataConfig`` (as a dict) describes — the same loader the CLI uses."""
    from genre.config import RunConfig
    from genre.run import load_from_config

    dataset = load_from_config(RunConfig.from_dict({"data": data}))
    if name:
        dataset.name = name
    return dataset


def embedding_cache() -> Any:
    """The embedding cache the pipeline uses (so encoding here also speeds up training)."""
    from genre.encoders import EmbeddingCache

    return EmbeddingCache()  # genre.paths.cache_dir()


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
