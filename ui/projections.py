"""The Embeddings page's 2-D map: PCA at once, UMAP as a background job (``ui.jobs``).

UMAP's first layout of a space takes up to a minute: it runs in the worker thread, the page draws
the PCA map meanwhile, and the finished layout is kept in the session (``"_umap_maps"``, the
last few) under the same key the cached projections use, so going back to it is instant.
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
    """2-D coordinates of ``vectors`` and the method that placed them: UMAP once its job has laid
    them out, PCA until then (this call starts the job when none runs)."""
    if method != "umap":
        return cache.projection(key, vectors, method, seed), method
    held = st.session_state.setdefault(HELD, {})
    if key in held:
        return held[key], "umap"
    job = jobs.current()
    waiting = job is not None and job.running and job.kind == "umap" and st.session_state.get(PENDING) == key
    if not waiting and _start(key, vectors, seed):
        st.rerun()  # the sidebar shows the job at once
    return cache.projection(key, vectors, "pca", seed), "pca"


def _start(key: str, vectors: Any, seed: int) -> bool:
    from genre.viz import project_2d

    n = vectors.shape[0]

    def work(progress: Callable) -> np.ndarray:
        progress(0, 0, f"laying out {n:,} points")
        coords = project_2d(vectors, method="umap", seed=seed)
        progress(0, 0, "done")  # a Cancel pressed meanwhile drops the layout here
        return coords

    def install(coords: np.ndarray) -> str:
        held = st.session_state.setdefault(HELD, {})
        held[key] = coords
        for old in list(held)[:-KEPT]:
            del held[old]
        return f"The UMAP map of {n:,} points is ready on the Embeddings page."

    started = jobs.start("umap", f"UMAP map of {n:,} points", 2, work, install)
    if started:
        st.session_state[PENDING] = key
    return started
