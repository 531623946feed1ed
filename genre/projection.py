"""2-D projections of embeddings for the map: PCA at once, UMAP with counted progress, kept on disk.

Why UMAP is set up this way: its first layout of the sample (10k points, 2 cores) took minutes,
and most of that was compiling pynndescent's numba code for the approximate neighbour search,
then 500 layout epochs (``bench/first_waits.py`` measures each part). So up to ``EXACT_NEIGHBOURS``
points the 15 nearest neighbours are found exactly, by blocked products of the unit rows (nothing
to compile, and exact rather than approximate), and handed to UMAP as ``precomputed_knn``; above
it pynndescent's compile pays for itself. Above 4,096 points the layout runs ``LAYOUT_EPOCHS``
epochs, umap's own default above 10,000 points. It is still UMAP: the same fuzzy graph and layout
on the same cosine neighbourhoods. Layouts are kept under ``$GENRE_CACHE_DIR/projections``, keyed
by a hash of the vectors and the settings, so a space is laid out once, across sessions and restarts.

Examples
--------
>>> import numpy as np
>>> project_2d(np.eye(4, dtype=np.float32), "pca").shape
(4, 2)
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.preprocessing import normalize

from genre.encoders.base import Progress
from genre.errors import Cancelled, ConfigError
from genre.paths import cache_dir

#: Projection methods of ``project_2d``.
PROJECTIONS = ("pca", "umap")
#: Points up to which UMAP's neighbours are found exactly (blocked products; above, pynndescent).
EXACT_NEIGHBOURS = 30_000
#: Layout epochs above 4,096 points (umap's own default above 10,000; it runs 500 below that).
LAYOUT_EPOCHS = 200
#: Stage messages ``project_2d`` sends for UMAP (reduce, neighbours, layout): a job's stage count.
UMAP_STAGES = 3
#: Layouts kept on disk (the newest; one is n × 2 float32, 80 KB for the sample).
KEPT_LAYOUTS = 64
#: Bumped when the UMAP settings above change, so an old layout is not shown for new settings.
_SETTINGS = f"umap-1|{EXACT_NEIGHBOURS}|{LAYOUT_EPOCHS}"
_NEIGHBOURS = 15
_BLOCK_CELLS = 1 << 24  # similarities per block of the exact search (64 MB of float32)
log = logging.getLogger("genre")


def project_2d(vectors: np.ndarray | sp.spmatrix, method: str = "pca", seed: int = 42,
               progress: Progress | None = None) -> np.ndarray:
    """2-D coordinates (n, 2) float32 of row vectors, by PCA (instant) or UMAP (seconds).

    Sparse input is reduced with truncated SVD (no densifying); UMAP runs on at most 50 SVD
    components with cosine distance, reporting its stages and counted work to ``progress``.
    """
    if method not in PROJECTIONS:
        raise ConfigError(f"projection method must be one of {', '.join(PROJECTIONS)}, got {method!r}")
    n = vectors.shape[0]
    if n < 3 or vectors.shape[1] < 2:
        out = np.zeros((n, 2), dtype=np.float32)
        if vectors.shape[1] >= 1 and n:
            column = vectors[:, :2].toarray() if sp.issparse(vectors) else np.asarray(vectors)[:, :2]
            out[:, : column.shape[1]] = column
        return out
    if method == "pca":
        return _svd(vectors, 2, seed).astype(np.float32)
    _report(progress, f"reducing {n:,} points to 50 dimensions")
    return _umap(_svd(vectors, 50, seed).astype(np.float32), seed, progress)


def _svd(vectors: np.ndarray | sp.spmatrix, n_components: int, seed: int) -> np.ndarray:
    """Centered PCA for dense input; truncated SVD (uncentered) for sparse input."""
    n_components = min(n_components, min(vectors.shape) - 1) if min(vectors.shape) > 2 else 2
    if sp.issparse(vectors):
        return TruncatedSVD(n_components=n_components, random_state=seed).fit_transform(vectors)
    return PCA(n_components=n_components, random_state=seed).fit_transform(np.asarray(vectors, dtype=np.float32))


def _umap(reduced: np.ndarray, seed: int, progress: Progress | None) -> np.ndarray:
    import umap  # lazy: a slow import, plus numba JIT on first use

    n = len(reduced)
    k = min(_NEIGHBOURS, n - 1)
    _report(progress, f"finding each point's {k} nearest neighbours")
    known = nearest_neighbours(reduced, k, progress) if n <= EXACT_NEIGHBOURS else (None, None)
    _report(progress, f"laying out {n:,} points")
    counter = _EpochCounter(progress)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*precomputed_knn.*")  # no search index: never transformed
        warnings.filterwarnings("ignore", message=".*n_jobs.*")           # random_state means one thread
        reducer = umap.UMAP(n_components=2, n_neighbors=k, metric="cosine", random_state=seed, n_jobs=1,
                            init="random" if n < 10 else "pca", precomputed_knn=(*known, None),
                            n_epochs=LAYOUT_EPOCHS if n > 4096 else None,
                            tqdm_kwds={"disable": progress is None, "file": counter, "bar_format": "{n} {total}",
                                       "mininterval": 0.25})
        coords = reducer.fit_transform(reduced)
    if counter.error is not None:  # a Cancel raised inside tqdm's writer, which tqdm may swallow
        raise counter.error
    return np.asarray(coords, dtype=np.float32)


def nearest_neighbours(points: np.ndarray, k: int, progress: Progress | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest rows by cosine distance, itself first at 0: (indices int32, distances
    float32), both (n, k), ordered nearest first. Exact: products of the unit rows in blocks of at most
    ``_BLOCK_CELLS`` similarities, a counted ``progress`` call after each."""
    unit = normalize(np.asarray(points, dtype=np.float32))
    n = len(unit)
    step = max(1, _BLOCK_CELLS // n)
    indices, distances = np.empty((n, k), dtype=np.int32), np.empty((n, k), dtype=np.float32)
    for start in range(0, n, step):
        rows = np.arange(start, min(start + step, n))
        sims = unit[rows] @ unit.T
        sims[np.arange(len(rows)), rows] = 2.0  # itself first, even for a zero row
        top = np.argpartition(sims, n - k, axis=1)[:, n - k:]
        near = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-near, axis=1, kind="stable")
        indices[rows] = np.take_along_axis(top, order, axis=1)
        distances[rows] = np.maximum(1.0 - np.take_along_axis(near, order, axis=1), 0.0)
        if progress is not None:
            progress(int(rows[-1]) + 1, n, "nearest neighbours")
    return indices, distances


class _EpochCounter(io.TextIOBase):
    """The file umap's tqdm bar writes to (``bar_format`` "{n} {total}"): each write becomes a counted
    progress call, so the layout's epochs are counted (and a Cancel raised there stops the layout)."""

    def __init__(self, progress: Progress | None):
        self.progress, self.error = progress, None

    def write(self, text: str) -> int:
        found = re.findall(r"(\d+) (\d+)", text)
        if found and self.progress is not None and self.error is None:
            done, total = map(int, found[-1])
            try:
                self.progress(done, total, f"layout epoch {done} of {total}")
            except Cancelled as cancel:
                self.error = cancel
                raise
        return len(text)


def _report(progress: Progress | None, message: str) -> None:
    log.info(message)
    if progress is not None:
        progress(0, 0, message)


# ---------------------------------------------------------------------------- layouts on disk
def layout_key(vectors: np.ndarray | sp.spmatrix, method: str, seed: int) -> str:
    """sha256 of the vectors (values, shape, dtype), the method, the seed and the layout settings."""
    try:
        umap_version = version("umap-learn")
    except PackageNotFoundError:
        umap_version = "?"
    digest = hashlib.sha256(f"{method}|{seed}|{_SETTINGS}|umap {umap_version}|{vectors.shape}".encode())
    if sp.issparse(vectors):
        csr = sp.csr_matrix(vectors, copy=True)
        csr.sum_duplicates()
        parts = (csr.indptr, csr.indices, csr.data)
    else:
        parts = (np.asarray(vectors),)
    for part in parts:
        digest.update(str(part.dtype).encode())
        digest.update(memoryview(np.ascontiguousarray(part)).cast("B"))
    return digest.hexdigest()


class LayoutStore:
    """2-D layouts on disk, one ``<key>.npy`` each under ``root / "projections"`` (root: GENRE's cache
    folder by default); written atomically, the oldest beyond ``KEPT_LAYOUTS`` removed. A file that
    does not load as an (n, 2) float32 array is dropped and laid out again."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.directory = (Path(root) if root is not None else cache_dir()) / "projections"

    def get(self, key: str, n: int) -> np.ndarray | None:
        path = self.directory / f"{key}.npy"
        if not path.is_file():
            return None
        try:
            coords = np.load(path, allow_pickle=False)
            if coords.shape != (n, 2) or coords.dtype != np.float32:
                raise ValueError(f"shape {coords.shape} {coords.dtype}, expected ({n}, 2) float32")
        except (OSError, ValueError) as error:
            log.warning("stored layout %s is unreadable (%s): laying it out again", path.name, error)
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # recently used: pruned last
        return coords

    def put(self, key: str, coords: np.ndarray) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=self.directory, prefix=".tmp-", suffix=".npy", delete=False)
        try:
            with handle:
                np.save(handle, np.asarray(coords, dtype=np.float32), allow_pickle=False)
            os.replace(handle.name, self.directory / f"{key}.npy")
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
        stored = sorted(self.directory.glob("*.npy"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in stored[KEPT_LAYOUTS:]:
            old.unlink(missing_ok=True)


def stored_umap(vectors: np.ndarray | sp.spmatrix, seed: int = 42, root: str | os.PathLike[str] | None = None
                ) -> np.ndarray | None:
    """The UMAP layout of ``vectors`` laid out before (this or another process), else None; no layout."""
    return LayoutStore(root).get(layout_key(vectors, "umap", seed), vectors.shape[0])


def cached_umap(vectors: np.ndarray | sp.spmatrix, seed: int = 42, progress: Progress | None = None,
                root: str | os.PathLike[str] | None = None) -> np.ndarray:
    """``project_2d(vectors, "umap", seed)`` laid out once: read from disk when stored, else laid out
    (with ``progress``) and stored."""
    store, key = LayoutStore(root), layout_key(vectors, "umap", seed)
    coords = store.get(key, vectors.shape[0])
    if coords is None:
        coords = project_2d(vectors, "umap", seed, progress)
        store.put(key, coords)
    return coords
