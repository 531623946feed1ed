"""Items before and after ``minilm-adapted``: the frozen base model beside the adapted one, and what moved.

Why: adaptation fine-tunes MiniLM's top layer so that items users take one after another end up
close; a person should be able to SEE that, not take it on trust. For a trained run whose features
use ``minilm-adapted`` this builds, on the same item fields and the same items, the frozen base
model's vectors ("before", encoded through the on-disk embedding cache) and the adapted vectors the
run used ("after", read back from that cache under the run's own encoder id: nothing is trained
again), plus a few figures of what changed: seen from an item a user took, how many items lie
farther than the one they took next, before and after (TRAIN pairs: what adaptation learned from;
TEST pairs: never seen by it), and the share of items' nearest neighbours that changed. A rank, not
a raw cosine: adaptation draws every item closer to every other, so raw cosines rise for random
pairs too (they are kept beside it, for the record).

Work is bounded whatever the catalog: a seeded sample of at most ``MAX_ITEMS`` items (uniform, so
the pairs found among them are a fair sample of all pairs), at most ``MAX_PAIRS`` pairs per part
and ``NEIGHBOUR_QUERIES`` items asked for their neighbours.

Examples
--------
>>> view = compare_adaptation(trained)                       # doctest: +SKIP
>>> view.pairs["test"].closer_before, view.pairs["test"].closer_after   # doctest: +SKIP
(0.8..., 0.9...)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from genre.config import ModalityConfig
from genre.data.tags import item_tag_text
from genre.encoders import EmbeddingCache, Modality, encode_cached, make_encoder, modality_inputs
from genre.encoders.adapted import consecutive_pairs
from genre.encoders.base import Progress, report_progress
from genre.encoders.cache import input_digest
from genre.errors import DataError
from genre.run.encoding import with_enrichment_file
from genre.run.spaces import VectorSpace

if TYPE_CHECKING:
    from genre.run.trained import TrainedRun

ADAPTED = "minilm-adapted"
#: Items compared at most (a seeded uniform sample above it): the frozen model encodes only these.
MAX_ITEMS = 5000
#: Consecutive pairs sampled at most from TRAIN and from TEST.
MAX_PAIRS = 2000
#: Items whose nearest neighbours are compared, and how many neighbours.
NEIGHBOUR_QUERIES, NEIGHBOURS = 500, 10


@dataclass
class PairCloseness:
    """How close items taken one after the other are, before and after.

    ``closer_*``: seen from a pair's first item, the share of the compared items farther from it than
    the item taken next (mean over pairs; 0.5 = chance). A rank, so it stays honest when adaptation
    draws every item closer to every other (it does: the raw cosines of random pairs rise too).
    ``cosine_*`` / ``random_*``: the mean raw cosines of the pairs and of the same items re-paired
    at random.
    """

    pairs: int
    closer_before: float
    closer_after: float
    cosine_before: float
    cosine_after: float
    random_before: float
    random_after: float


@dataclass
class Adaptation:
    """One adapted modality of a run, before and after, on the same ``items`` (rows of both spaces)."""

    modality: str
    base: str
    items: np.ndarray
    before: VectorSpace
    after: VectorSpace
    pairs: dict[str, PairCloseness]
    neighbours_changed: float
    report: dict[str, Any] | None

    def stacked(self) -> np.ndarray:
        """Before then after, each centred on its own mean: ONE linear projection (PCA) of both puts
        the two maps on shared axes, without the offset between the spaces becoming the first axis."""
        blocks = [np.asarray(s.items, dtype=np.float32) for s in (self.before, self.after)]
        return np.vstack([b - b.mean(axis=0) for b in blocks])

    def neighbours(self, position: int, k: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
        """Positions (into ``items``) of the ``k`` nearest items to ``items[position]``, before and after."""
        return tuple(_nearest(np.asarray(s.items), np.array([position]), k)[0]  # type: ignore[return-value]
                     for s in (self.before, self.after))


def adapted_modalities(trained: "TrainedRun") -> list[str]:
    """Names of the run's modalities encoded by ``minilm-adapted`` (weight above 0)."""
    return [m.name for m in trained.config.features.modalities if m.encoder == ADAPTED and m.weight > 0]


def compare_adaptation(trained: "TrainedRun", name: str | None = None, *, seed: int | None = None,
                       max_items: int = MAX_ITEMS, progress: Progress | None = None) -> Adaptation:
    """Frozen and adapted vectors of modality ``name`` (the first adapted one by default) on a seeded
    sample of items, with the figures of what adaptation changed."""
    config = trained.config
    names = adapted_modalities(trained)
    if not names or (name is not None and name not in names):
        wanted = f"modality {name!r}" if name else "any modality"
        raise DataError(f"this run did not adapt {wanted} with {ADAPTED}; adapted: {', '.join(names) or 'none'}")
    modality = next(m for m in config.features.modalities if m.name == (name or names[0]))
    seed = config.seed if seed is None else seed
    dataset, split = trained.dataset_, trained.split_
    rng = np.random.default_rng(seed)
    items = np.arange(dataset.n_items)
    if len(items) > max_items:
        items = np.sort(rng.choice(items, max_items, replace=False))
    texts = _inputs(trained, modality)
    chosen = [texts[i] for i in items]
    cache = EmbeddingCache(trained.cache_dir)
    adapted = make_encoder(ADAPTED, **modality.params)
    adapted.use_interactions(split.train, texts)  # sets the run's encoder id only: nothing is trained
    after = _adapted_vectors(trained, adapted, modality.name, chosen, items, cache)
    frozen = make_encoder("minilm") if "model" not in modality.params else \
        make_encoder("sentence-transformers", model=modality.params["model"])
    base = adapted.base_name
    report_progress(progress, 0, 0, f"encoding {len(items):,} items with the frozen {base}")
    before = np.asarray(encode_cached(frozen, chosen, cache, progress), dtype=np.float32)
    report_progress(progress, 0, 0, "comparing")
    usable = np.zeros(dataset.n_items, dtype=bool)
    usable[items] = [bool(t.strip()) for t in chosen]
    position = np.full(dataset.n_items, -1, dtype=np.int64)
    position[items] = np.arange(len(items))
    candidates = np.flatnonzero(usable[items])  # positions of items with text
    pairs = {}
    for part, frame in (("train", split.train), ("test", split.test)):
        found = _sampled_pairs(frame, usable, seed)
        if len(found):
            pairs[part] = _closeness(before, after, position[found], candidates, rng)
    own = (trained.feature_report_ or {}).get(modality.name, {})
    return Adaptation(modality.name, base, items,
                      VectorSpace("before", f"{base}, frozen (before)", before),
                      VectorSpace("after", f"{base}, adapted to this data (after)", after), pairs,
                      _neighbours_changed(before, after, candidates, rng),
                      own.get("adaptation") if own.get("encoder_id") == adapted.id else None)


def _inputs(trained: "TrainedRun", modality: ModalityConfig) -> list[str]:
    """Each item's text of ``modality`` exactly as the run encoded it (enrichment, leak-free tags)."""
    dataset = with_enrichment_file(trained.dataset_, trained.config.features.enrichment)
    overrides = ({"tags": item_tag_text(dataset, exclude=trained.split_.test)}
                 if dataset.tags is not None else None)
    part = Modality(modality.name, list(modality.fields), modality.encoder, dict(modality.params), modality.weight)
    return modality_inputs(dataset, part, overrides)


def _adapted_vectors(trained: "TrainedRun", encoder: Any, name: str, texts: list[str], items: np.ndarray,
                     cache: EmbeddingCache) -> np.ndarray:
    """The adapted vectors of ``items`` (``texts``) that the run's fit wrote to the cache under
    ``encoder.id``. A run whose only modality this is falls back to its own item vectors when the
    cache was emptied since."""
    found, vectors = cache.lookup(encoder.id, np.array([input_digest(t) for t in texts], dtype="S32"))
    if found.all():
        return vectors.astype(np.float32, copy=False)
    active = [m for m in trained.config.features.modalities if m.weight > 0]
    if len(active) == 1 and trained.item_vectors_ is not None:
        return np.asarray(trained.item_vectors_[items], dtype=np.float32)
    raise DataError(f"the adapted vectors of modality {name!r} are no longer in the embedding cache "
                    f"({cache.directory}): train the run again to compare before and after")


def _sampled_pairs(frame: pd.DataFrame, usable: np.ndarray, seed: int) -> np.ndarray:
    """At most ``MAX_PAIRS`` consecutive pairs of ``frame`` whose items are both ``usable`` (seeded)."""
    if frame.empty:
        return np.zeros((0, 2), dtype=np.int64)
    pairs, _ = consecutive_pairs(frame[[c for c in ("user", "item", "timestamp") if c in frame]], usable, 0, seed)
    if len(pairs) > MAX_PAIRS:
        pairs = pairs[np.sort(np.random.default_rng(seed).choice(len(pairs), MAX_PAIRS, replace=False))]
    return pairs


def _closeness(before: np.ndarray, after: np.ndarray, pairs: np.ndarray, candidates: np.ndarray,
               rng: np.random.Generator) -> PairCloseness:
    """Ranks and raw cosines of consecutive ``pairs`` among the ``candidates`` rows; the random
    control keeps the first items and shuffles the second ones among the pairs."""
    shuffled = np.stack([pairs[:, 0], rng.permutation(pairs[:, 1])], axis=1)
    shuffled = shuffled[shuffled[:, 0] != shuffled[:, 1]]

    def cosine(vectors: np.ndarray, rows: np.ndarray) -> float:
        return float(np.mean(np.einsum("ij,ij->i", vectors[rows[:, 0]], vectors[rows[:, 1]])))

    def closer(vectors: np.ndarray) -> float:
        shares = []
        for start in range(0, len(pairs), 500):  # 500 × MAX_ITEMS scores at a time
            block = pairs[start:start + 500]
            target = np.einsum("ij,ij->i", vectors[block[:, 0]], vectors[block[:, 1]])
            farther = (vectors[block[:, 0]] @ vectors[candidates].T < target[:, None]).sum(axis=1)
            shares.append(farther / max(len(candidates) - 2, 1))  # neither the item nor its next one
        return float(np.mean(np.concatenate(shares)))

    return PairCloseness(len(pairs), closer(before), closer(after), cosine(before, pairs), cosine(after, pairs),
                         cosine(before, shuffled), cosine(after, shuffled))


def _nearest(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` rows most similar to each query row (itself and empty rows left out), closest first."""
    scores = vectors[queries] @ vectors.T
    scores[:, ~vectors.any(axis=1)] = -np.inf
    scores[np.arange(len(queries)), queries] = -np.inf
    k = min(k, vectors.shape[0] - 1)
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)


def _neighbours_changed(before: np.ndarray, after: np.ndarray, usable: np.ndarray,
                        rng: np.random.Generator) -> float:
    """Share of the ``NEIGHBOURS`` nearest items (among the compared ones) that are new after
    adaptation, averaged over a seeded sample of at most ``NEIGHBOUR_QUERIES`` items."""
    if len(usable) <= NEIGHBOURS:
        return float("nan")
    queries = rng.choice(usable, min(NEIGHBOUR_QUERIES, len(usable)), replace=False)
    old, new = _nearest(before, queries, NEIGHBOURS), _nearest(after, queries, NEIGHBOURS)
    kept = [len(np.intersect1d(a, b)) for a, b in zip(old, new)]
    return 1.0 - float(np.mean(kept)) / NEIGHBOURS
