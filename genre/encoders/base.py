"""The Encoder protocol and the helpers every encoder shares.

An encoder turns a sequence of inputs (texts, category lists, images, item ids) into one
row per input. Rows are L2-normalized so that a dot product is a cosine; an input with no
content (empty text, missing image, unknown id) gives a zero row rather than a made-up
vector, so "no content" never looks similar to anything.

Output is a float32 ``numpy.ndarray`` of shape ``(n, dim)`` for the neural encoders, or a
float32 ``scipy.sparse.csr_matrix`` of the same shape for encoders whose output is too wide to
densify (TF-IDF, multi-hot over many categories). Callers that need one kind check with
``scipy.sparse.issparse``.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence, Union, runtime_checkable

import numpy as np
import scipy.sparse as sp

#: ``progress(done, total, message)``: called as batches finish (the app wires it to st.progress).
Progress = Callable[[int, int, str], None]

#: What ``Encoder.encode`` returns.
Vectors = Union[np.ndarray, sp.csr_matrix]


@runtime_checkable
class Encoder(Protocol):
    """What GENRE needs from an encoder.

    Attributes
    ----------
    id : str
        Stable name of the output space: the model and every parameter that changes the output.
        The on-disk cache is keyed by it, so two encoders with the same ``id`` must give the
        same vectors for the same input.
    dim : int
        Width of each output row.
    cacheable : bool
        False for encoders whose output depends on the whole corpus (TF-IDF, multi-hot) or that
        are a plain lookup (precomputed vectors): the cache skips them.
    last_report : dict
        Counts about the last ``encode`` call (e.g. ``{"missing": 2, "unreadable": 1,
        "flags": bool array}`` for images). Rows flagged there are not cached.
    """

    id: str
    dim: int
    cacheable: bool
    last_report: dict[str, Any]

    def encode(self, inputs: Sequence[Any], progress: Progress | None = None) -> Vectors:
        """Rows of float32, L2-normalized (zero rows stay zero), one per input, in order."""
        ...


def l2_normalize(vectors: Vectors) -> Vectors:
    """A float32 copy with rows scaled to unit length; all-zero rows stay zero."""
    if sp.issparse(vectors):
        matrix = sp.csr_matrix(vectors, dtype=np.float32)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ matrix, dtype=np.float32)
    array = np.array(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    np.divide(array, norms, out=array, where=norms > 0)
    return array


def report_progress(progress: Progress | None, done: int, total: int, message: str) -> None:
    """Call ``progress`` when one was given."""
    if progress is not None:
        progress(done, total, message)


def encode_texts_in_chunks(
    texts: Sequence[Any],
    dim: int,
    encode_chunk: Callable[[list[str]], np.ndarray],
    chunk_size: int,
    progress: Progress | None,
    label: str,
) -> tuple[np.ndarray, int]:
    """Shared driver of the text encoders; returns the rows and the number of empty texts.

    Empty texts get zero rows without reaching the model; the rest are sorted by length
    (longest first, as sentence-transformers does) so that batches pad little, encoded in
    chunks of ``chunk_size`` with a progress call after each, then put back in input order
    and L2-normalized.
    """
    strings = ["" if t is None else str(t) for t in texts]
    out = np.zeros((len(strings), dim), dtype=np.float32)
    todo = [i for i, s in enumerate(strings) if s.strip()]
    todo.sort(key=lambda i: -len(strings[i]))
    total = len(todo)
    report_progress(progress, 0, total, f"{label}: encoding {total} texts")
    for start in range(0, total, chunk_size):
        rows = todo[start:start + chunk_size]
        out[rows] = encode_chunk([strings[i] for i in rows])
        report_progress(progress, min(start + chunk_size, total), total, f"{label}: encoding")
    return l2_normalize(out), len(strings) - total
