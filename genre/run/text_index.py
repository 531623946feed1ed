"""The what-if box's item index: each item's title and genres in the profile encoder's space.

Where it comes from, cheapest first (``cheap_index``): the run's own content vectors when they are
that very space (one modality: the profile encoder over title and genres), else the on-disk
encoding cache when it holds every item. Both take milliseconds, so ``Experiment.train`` takes the
index as a stage, and a run loaded from disk (which stores no index) takes it the same way when
first asked. Otherwise the catalog must be encoded (``encode_index``), and training does
not do that: MiniLM costs about 6 ms per item on 2 cores — a minute for the 9.7k-item sample, four
times its whole tuned training, and some 20 minutes at 200k items — for a box that may never be
opened (``genre run`` never opens it). The app encodes it in a background job with counted progress
when a taste is first described; the catalog goes through in blocks, each written to the cache as
it finishes, so memory stays bounded, a Cancel keeps what was done, and every later run over the
same catalog (a retrain, another session, a saved run loaded) finds it in the cache.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from genre.algorithms.base import Progress
from genre.config import FeaturesConfig, RunConfig
from genre.data import Dataset
from genre.encoders import EmbeddingCache, Encoder, encode_cached
from genre.encoders.cache import input_digest
from genre.errors import DataError
from genre.features import Features

#: The item fields a described taste is matched against.
FIELDS = ("title", "genres")
#: Items per block of ``encode_index`` at least (at most ten blocks above ten times this).
MIN_BLOCK = 4096
log = logging.getLogger("genre")


def query_text(text: str) -> str:
    """A described taste, stripped; an empty one is refused with what to type."""
    if not text or not text.strip():
        raise DataError("type a few words describing the user's taste, e.g. 'space operas and animated comedies'")
    return text.strip()


def item_texts(dataset: Dataset) -> list[str]:
    """One text per item, as the encoders' modalities join these fields (so the cache is shared)."""
    return dataset.item_text(FIELDS)


def cheap_index(dataset: Dataset, features: Features, config: RunConfig, encoder: Encoder,
                cache: EmbeddingCache) -> np.ndarray | None:
    """The index without encoding anything: the run's own vectors of that space, else every item's
    vector from the cache; None when neither has them all."""
    own = [(config.features, features.item_vectors)]
    own += [(a.features, features.spaces.get(a.name)) for a in config.algorithms if a.features is not None]
    for part, vectors in own:
        if _same_space(part, config.features.profile_encoder) and isinstance(vectors, np.ndarray) \
                and vectors.shape[0] == dataset.n_items:
            return vectors
    digests = np.array([input_digest(text) for text in item_texts(dataset)], dtype="S32")
    found, vectors = cache.lookup(encoder.id, digests)
    return vectors if len(found) and found.all() else None


def _same_space(part: FeaturesConfig, encoder: str) -> bool:
    """Whether item vectors built from ``part`` are exactly ``encoder`` over ``FIELDS``."""
    modalities = [m for m in part.modalities if m.weight > 0]
    return (len(modalities) == 1 and modalities[0].encoder == encoder and tuple(modalities[0].fields) == FIELDS
            and not modalities[0].params)


def encode_index(dataset: Dataset, encoder: Encoder, cache: EmbeddingCache,
                 progress: Progress | None = None) -> np.ndarray:
    """Every item encoded (through the cache) in blocks of at least ``MIN_BLOCK`` items, at most
    ten of them; ``progress(done, n_items, message)`` counts items across blocks."""
    texts = item_texts(dataset)
    n = len(texts)
    step = max(MIN_BLOCK, math.ceil(n / 10))
    index: np.ndarray | None = None
    for start in range(0, n, step):
        block = texts[start:start + step]

        def counted(done: int, total: int, message: str = "", start: int = start, size: int = len(block)) -> None:
            if progress is not None:
                progress(start + (size * done // total if total else 0), n, "encoding item titles and genres")

        vectors = encode_cached(encoder, block, cache, counted)
        if index is None:
            index = np.empty((n, vectors.shape[1]), dtype=np.float32)
        index[start:start + len(block)] = vectors
        log.info("what-if index: %d of %d items encoded", start + len(block), n)
    return index if index is not None else np.zeros((0, 0), dtype=np.float32)
