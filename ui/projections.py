"""The Embeddings page's 2-D map: PCA at once, UMAP as a background job (``ui.jobs``).

A UMAP layout laid out before — in this session, another one, or before a restart — is read from
disk (``genre.projection``) at once. Otherwise it runs in the worker thread with counted progress
(neighbours found, layout epochs) and a time left in the sidebar, the page draws the PCA map
meanwhile, and the finished layout is kept in the session (``"_umap_maps"``, the last few) under
the same key the cached projections use, so going back to it is instant.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import streamlit as st

from ui import cache, jobs

HELD, PENDING = "_umap_maps", "_umap_pending"
#: UMAP layouts kept per session (each is n × 2 float32).
KEPT = 4


def coordinates(key: str, vectors: Any, method: str, seed: int) -> tuple[np.ndarray, str]:
    """2-D coordinates of ``vectors`` and the method that placed them: UMAP once laid out (read
    from disk, or when its job ends), PCA until then (this call starts the job when none runs)."""
    if method != "umap":
        return cache.projection(key, vectors, method, seed), method
    held = st.session_state.setdefault(HELD, {})
    if key in held:
        return held[key], "umap"
    job = jobs.current()
    waiting = job is not None and job.running and job.kind == "umap" and st.session_state.get(PENDING) == key
    if not waiting:
        from genre.projection import stored_umap

        stored = stored_umap(vectors, seed)
        if stored is not None:
            _hold(key, stored)
            return stored, "umap"
        if _start(key, vectors, seed):
            st.rerun()  # the sidebar shows the job at once
    return cache.projection(key, vectors, "pca", seed), "pca"


def _hold(key: str, coords: np.ndarray) -> None:
    held = st.session_state.setdefault(HELD, {})
    held[key] = coords
    for old in list(held)[:-KEPT]:
        del held[old]


def _start(key: str, vectors: Any, seed: int) -> bool:
    from genre.projection import UMAP_STAGES, cached_umap

    n = vectors.shape[0]

    def work(progress: Callable) -> np.ndarray:
        coords = cached_umap(vectors, seed, progress)
        progress(0, 0, "done")  # a Cancel pressed meanwhile drops the layout here
        return coords

    def install(coords: np.ndarray) -> str:
        _hold(key, coords)
        return f"The UMAP map of {n:,} points is ready on the Embeddings page."

    started = jobs.start("umap", f"UMAP map of {n:,} points", UMAP_STAGES + 1, work, install)
    if started:
        st.session_state[PENDING] = key
    return started
