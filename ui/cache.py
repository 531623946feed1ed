"""Cached work shared across reruns: data loading, table previews, projections, models.

``st.cache_data`` for values (each caller gets its own copy), ``st.cache_resource`` for
loaded models (one shared instance). Every function is one call into ``genre``.
"""

from __future__ import annotations

import hashlib
import io
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import streamlit as st

from ui import state


def save_uploads(files: list[Any], in_use: Iterable[str | Path] = ()) -> list[Path]:
    """Store uploads under the quota (``genre.hosting.uploads.save_uploads``); ``in_use``: this
    session's earlier upload paths, which pruning must keep. The session's lease names them and
    the new files, so no other session's pruning deletes them while this session lives."""
    from genre.hosting.uploads import save_uploads as store

    in_use = [*in_use, *st.session_state.get("_last_saved", ())]  # saved on another widget, not yet applied
    paths = store(files, in_use=in_use, lease=_lease_id())
    st.session_state.setdefault("_own_uploads", set()).update(str(p.parent) for p in paths)
    st.session_state["_last_saved"] = [*st.session_state.get("_last_saved", ()), *map(str, paths)][-8:]
    renew_upload_lease(in_use, force=True)
    return paths


def own_uploads() -> list[Path]:
    """The upload folders this session stored: the only upload-store paths an imported config may name."""
    return [Path(p) for p in sorted(st.session_state.get("_own_uploads", ()))]


def renew_upload_lease(in_use: Iterable[str | Path] | None = None, *, force: bool = False) -> None:
    """Renew this session's lease on the uploads it uses (every page run; written at most once a
    minute unless what is in use changed), so that other sessions' pruning keeps them: the files
    its config names and its latest uploads not yet applied — not every file it ever uploaded,
    so one session cannot pin the whole store."""
    from genre.hosting.uploads import lease_uploads

    if in_use is None and "config" not in st.session_state:
        return
    if not own_uploads():  # a session that never uploaded holds no lease
        return
    names = sorted({*map(str, state.files_in_use() if in_use is None else in_use),
                    *st.session_state.get("_last_saved", ())})
    last = st.session_state.get("_lease_written")
    if not names or (not force and last and last[1] == names and time.time() - last[0] < 60):
        return
    lease_uploads(_lease_id(), names)
    st.session_state["_lease_written"] = (time.time(), names)


def _lease_id() -> str:
    return st.session_state.setdefault("_upload_lease", uuid.uuid4().hex)


def check_file_count(files: list[Any]) -> list[Any]:
    """``files`` when the uploader holds no more than ``GENRE_UPLOAD_MAX_FILES``, else DataError."""
    from genre.hosting.uploads import check_file_count as check

    check(files)
    return files


#: Upload tables one session keeps parsed (the Data page shows a main file and a few item files).
_HEADS_KEPT = 8


def read_head(name: str, content: bytes, rows: int | None = 200) -> pd.DataFrame:
    """The first ``rows`` rows of an uploaded table (all when None), for the preview and the column guess.

    Kept in this session's state (at most ``_HEADS_KEPT``): an upload's tables leave memory with
    the session (a server-wide ``st.cache_data`` kept them after their session had gone).
    """
    from genre.data import read_table

    key = (name, hashlib.sha256(content).hexdigest(), rows)
    heads = st.session_state.setdefault("_upload_heads", {})
    if key not in heads:
        buffer = io.BytesIO(content)
        buffer.name = name
        heads[key] = read_table(buffer, max_rows=rows)  # a preview decodes only its head
        for old in list(heads)[:-_HEADS_KEPT]:  # re-uploads under one name must not pile up
            del heads[old]
    return heads[key]


@st.cache_data(show_spinner="Loading data…", max_entries=4, ttl=3600)  # idle datasets leave memory
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
def _shared_output_cache() -> Any:
    """The on-disk LLM output cache file (one connection for the whole server)."""
    from genre.llm import OutputCache

    return OutputCache()


def output_cache() -> Any:
    """This session's part of the LLM output cache: its owner's rows only (``ui.state.owner``, the
    owner its runs are saved under), so no session reads, counts or exports another's prompts,
    outputs, servers or models."""
    return _shared_output_cache().for_owner(state.owner())


def tagging_quality(dataset: Any, encoder: str, fields: tuple[str, ...]) -> pd.DataFrame:
    """How well a dense text encoder's vectors predict genres, cached by a content hash of the
    texts and genres it is computed from (never by a name two sessions' data may share)."""
    from genre.llm.tagging import tagging_input_digest

    texts = list(dataset.item_text(fields))
    genres, labels = dataset.genre_matrix()
    return _tagging_quality(tagging_input_digest(texts, genres, labels), texts, genres, labels, encoder)


@st.cache_data(show_spinner=False, max_entries=8)
def _tagging_quality(digest: str, _texts: list[str], _genres: Any, _labels: Any, encoder: str) -> pd.DataFrame:
    from genre.encoders import encode_cached, make_encoder
    from genre.llm import evaluate_tagging, label_texts

    model = make_encoder(encoder)
    vectors = np.asarray(encode_cached(model, _texts, embedding_cache()))
    return evaluate_tagging(vectors, _genres, _labels, label_vectors=np.asarray(model.encode(label_texts(_labels))))
