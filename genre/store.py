"""Candidate store: per user, the union of every algorithm's top-C items with all their scores.

Why: a new set of mix weights must cost O(users × candidates), not O(users × items). The
models score a user batch once (one thread per core, a model per task); each algorithm's
scores are normalized exactly as ``fusion.normalize`` / ``fusion.soften`` do (statistics
over all of the user's rankable items: unseen, and ``candidate_items`` only when the split
restricts them). Each algorithm names its C best rankable items (ties to the lower item
index, as ``fusion.top_k`` breaks them), and the store keeps, for the union of those items,
EVERY algorithm's normalized score: a mix over the union is exact whatever the weights, with
no approximation for an item that one algorithm ranks high and another low. An affine
normalization (minmax, zscore) keeps each user's order, so it is applied to the kept scores
only (``score_batch``).

Per user and algorithm the store also keeps a floor, the normalized value of the (C+1)-th
best item: an upper bound on that algorithm's score of any item outside the union. An item
outside the union can outrank the mix's k-th best only when Σ weight · floor exceeds it;
bench/store_exactness.py measures how often that costs anything at each C. Seen items are
never stored, so they can never be recommended. The mix's AUC needs every item's score, so
the store also keeps the exact scores of each user's held-out items and of a seeded sample
of their negatives (``genre.auc_probe``).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from genre.algorithms import make_algorithm
>>> from genre.config import FusionConfig
>>> from genre.split import temporal_split
>>> rows = pd.DataFrame({"user": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], "item": [0, 1, 2, 3, 4, 0, 2, 3, 4, 5],
...                      "rating": 1.0, "timestamp": np.arange(10)})
>>> split = temporal_split(rows, n_users=2, n_items=6)
>>> model = make_algorithm("popularity").fit(split.train_matrix())
>>> store = build_store({"popularity": model}, split, split.test_users, FusionConfig(), candidates=2)
>>> store.top_k({"popularity": 1.0}, 2).tolist()
[[4, 5], [1, 5]]
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import numpy as np
import scipy.sparse as sp

from genre import fusion
from genre.algorithms import Recommender
from genre.auc_probe import MIN_PROBE, PROBE_TOTAL, Probe, probe_items
from genre.batching import rows_per_batch
from genre.errors import ConfigError
from genre.split import Split

#: Items each algorithm nominates per user (config ``fusion.candidates``); the sample's tuned
#: mix ranks as its dense scores do at this C (bench/store_exactness.py).
DEFAULT_CANDIDATES = 100



def rankable_mask(split: Split, users: np.ndarray, seen: sp.spmatrix | None = None) -> np.ndarray:
    """(len(users), n_items) bool: items each user may be recommended (unseen, candidates only);
    ``seen``: the users' training rows when the caller already has them."""
    mask = np.ones((len(users), split.n_items), dtype=bool)
    if split.candidate_items is not None:
        mask[:] = False
        mask[:, split.candidate_items] = True
    seen = (split.train_matrix()[users] if seen is None else seen).tocoo()
    mask[seen.row, seen.col] = False
    return mask


def nominate(block: np.ndarray, rankable: np.ndarray, candidates: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``candidates`` best rankable items (padded with -1) and its floor.

    The floor is the (C+1)-th best rankable value, or the lowest when no item is left out.
    """
    masked = np.where(rankable, block, -np.inf).astype(np.float32, copy=False)
    return nominate_masked(masked, rankable.sum(axis=1), candidates)


def nominate_masked(masked: np.ndarray, n_rankable: np.ndarray, candidates: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``nominate`` of a block whose unrankable entries already hold -inf."""
    width = min(candidates + 1, masked.shape[1])
    top = fusion.top_k(masked, width)                       # best first, ties → lower index
    values = np.take_along_axis(masked, top, axis=1)
    last = np.clip(np.minimum(n_rankable, candidates + 1) - 1, 0, None)
    floors = values[np.arange(len(masked)), last] if width else np.zeros(len(masked), np.float32)
    floors = np.where(np.isfinite(floors), floors, 0.0).astype(np.float32)
    chosen = np.where(np.arange(width)[None, :] < np.minimum(n_rankable, candidates)[:, None], top, -1)
    return chosen[:, :candidates], floors


class ScoredBatch:
    """One algorithm's scores of a user batch as the store reads them: ``masked`` holds -inf
    at unrankable items, and normalized values are ``(masked - shift) / scale`` per row (or
    ``masked`` itself when ``affine`` is None)."""

    def __init__(self, masked: np.ndarray, affine: tuple[np.ndarray, np.ndarray] | None):
        self.masked, self.affine = masked, affine

    def normalized(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if self.affine is None:
            return values.astype(np.float32, copy=False)
        shift, scale = self.affine
        with np.errstate(invalid="ignore"):
            out = (values - shift[rows, 0]) / scale[rows, 0]
        return np.nan_to_num(out, nan=0.0).astype(np.float32, copy=False)

    def at(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Normalized scores of (row, item) pairs."""
        return self.normalized(self.masked[rows, items], rows)


def score_batch(model: Recommender, batch: np.ndarray, seen: sp.csr_matrix, rankable: np.ndarray,
                candidate_items: np.ndarray | None, fusion_config, candidates: int
                ) -> tuple[ScoredBatch, np.ndarray, np.ndarray]:
    """Score a batch with one model; its nominees and (normalized) floors.

    An affine normalization (minmax, zscore; no temperature) preserves each row's order, so the
    model's own scores are nominated and only the kept ones are normalized, with the very
    parameters ``fusion.normalize`` uses: three passes over the block instead of a dozen. Other
    settings (rank, softmax, zscore over a cold-start item subset) normalize the whole block.
    """
    raw = model.score(batch)
    n_rankable = rankable.sum(axis=1)
    method = fusion_config.normalization
    affine_ok = fusion_config.temperature is None and (
        method in ("minmax", "none") or (method == "zscore" and candidate_items is None))
    if not affine_ok:
        block = fusion.normalize_rows(raw, seen, candidate_items, fusion_config)
        np.copyto(block, -np.inf, where=~rankable)
        top, floors = nominate_masked(block, n_rankable, candidates)
        return ScoredBatch(block, None), top, floors
    np.copyto(raw, -np.inf, where=~rankable)                # the model's array: ours to change
    top, floors = nominate_masked(raw, n_rankable, candidates)
    scored = ScoredBatch(raw, fusion.affine_parameters(raw, rankable, method))
    return scored, top, np.where(n_rankable > 0, scored.normalized(floors, np.arange(len(raw))), 0.0
                                 ).astype(np.float32)


#: Up to this many users (a fold-in, the app's one-user look-up) the models score in the calling
#: thread: starting the pool's threads costs more than scoring them.
_INLINE_USERS = 8


class _Inline:
    """The part of ``ThreadPoolExecutor`` ``StoreBuilder.score`` uses, running each task at once."""

    def __enter__(self) -> "_Inline":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def submit(self, task: Callable, *args) -> Future:
        done: Future = Future()
        try:
            done.set_result(task(*args))
        except BaseException as error:  # re-raised by .result(), as the pool would
            done.set_exception(error)
        return done


class StoreBuilder:
    """Scores user batches with every model and keeps each batch's candidates."""

    def __init__(self, split: Split, users: np.ndarray, names: list[str],
                 candidates: int = DEFAULT_CANDIDATES, seed: int = 0):
        if isinstance(candidates, bool) or int(candidates) < 1:  # the Python API's entry (configs are bounded)
            raise ConfigError(f"fusion.candidates must be a positive integer, got {candidates!r}")
        self.split, self.users, self.names = split, np.asarray(users), list(names)
        self.candidates, self.seed = int(candidates), seed
        self.n_negatives = max(MIN_PROBE, -(-PROBE_TOTAL // max(len(self.users), 1)))
        self.parts: list[tuple] = []
        self.seconds = {name: 0.0 for name in self.names}

    def add(self, batch: np.ndarray, blocks: dict[str, ScoredBatch],
            nominated: dict[str, tuple[np.ndarray, np.ndarray]], probe: tuple) -> None:
        """Keep one batch (batches must come in ``users`` order): every algorithm's scores,
        its nominees and floors (``score_batch``), and the batch's ``probe_items``."""
        union = np.zeros((len(batch), self.split.n_items), dtype=bool)
        for top, _ in nominated.values():
            rows = np.repeat(np.arange(len(batch)), top.shape[1])
            keep = top.ravel() >= 0
            union[rows[keep], top.ravel()[keep]] = True
        rows, items = np.nonzero(union)                     # row-major: items ascending per row
        counts, probed, flags = probe
        probe_rows = np.repeat(np.arange(len(batch)), counts)
        self.parts.append((np.bincount(rows, minlength=len(batch)), items.astype(np.int32),
                           {n: blocks[n].at(rows, items) for n in self.names},
                           {n: nominated[n][1] for n in self.names},
                           (counts, probed, flags, {n: blocks[n].at(probe_rows, probed) for n in self.names})))

    def score(self, models: dict[str, Recommender], fusion_config,
              progress: Callable[[int, int, str], None] | None = None) -> None:
        """Score every model over the users once, batch by batch, keeping each batch.

        Each model's score → normalize → nominate runs as its own task on a thread per core
        (BLAS, scipy.sparse, torch and numpy's large-array loops release the GIL), and the
        batch's probe sampling beside them. ``seconds[name]`` counts that model's task.
        """


        train = self.split.train_matrix()
        step = rows_per_batch(self.split.n_items, n_blocks=len(models) + 4)  # dense blocks held at once

        def nominated_block(name: str, model: Recommender, batch: np.ndarray, seen: sp.csr_matrix,
                            rankable: np.ndarray):
            began = time.perf_counter()
            result = score_batch(model, batch, seen, rankable, self.split.candidate_items, fusion_config,
                                 self.candidates)
            self.seconds[name] += time.perf_counter() - began
            return result

        workers = max(1, min(len(models), os.cpu_count() or 1))
        parallel = workers > 1 and len(self.users) > _INLINE_USERS
        with (ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genre-score") if parallel
              else _Inline()) as pool:
            for start in range(0, len(self.users), step):
                batch = self.users[start:start + step]
                seen = train[batch]                           # once per batch, shared by every model
                rankable = rankable_mask(self.split, batch, seen)
                probe = pool.submit(probe_items, self.split, batch, rankable, self.n_negatives, self.seed)
                tasks = {name: pool.submit(nominated_block, name, model, batch, seen, rankable)
                         for name, model in models.items()}
                done = {name: task.result() for name, task in tasks.items()}
                self.add(batch, {n: d[0] for n, d in done.items()}, {n: d[1:] for n, d in done.items()},
                         probe.result())
                del done, tasks
                if progress:
                    finished = start + len(batch)
                    progress(finished, len(self.users), f"{finished:,} of {len(self.users):,} users")

    def build(self) -> "CandidateStore":
        def joined(parts, empty):
            return np.concatenate(parts) if parts else empty

        counts = joined([p[0] for p in self.parts], np.zeros(0, np.int64))
        if len(counts) != len(self.users):
            raise ValueError(f"{len(counts)} rows were scored but the store has {len(self.users)} users")
        f32 = np.zeros(0, np.float32)
        values = {n: joined([p[2][n] for p in self.parts], f32) for n in self.names}
        floors = {n: joined([p[3][n] for p in self.parts], f32) for n in self.names}
        probes = [p[4] for p in self.parts]
        probe = Probe(np.concatenate([[0], np.cumsum(joined([c for c, *_ in probes], np.zeros(0, np.int64)))]),
                      joined([p for _, p, *_ in probes], np.zeros(0, np.int64)),
                      joined([f for _, _, f, _ in probes], np.zeros(0, bool)),
                      {n: joined([v[n] for *_, v in probes], f32) for n in self.names})
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        items = joined([p[1] for p in self.parts], np.zeros(0, np.int32))
        return CandidateStore(self.users, self.split, indptr, items, values, floors, probe,
                              self.candidates, dict(self.seconds))


def build_store(models: dict[str, Recommender], split: Split, users: np.ndarray, fusion_config, *,
                candidates: int = DEFAULT_CANDIDATES, seed: int = 0,
                progress: Callable[[int, int, str], None] | None = None) -> "CandidateStore":
    """Score every model over ``users`` once and keep the candidates (no evaluation on the way)."""
    builder = StoreBuilder(split, users, list(models), candidates, seed)
    builder.score(models, fusion_config, progress)
    return builder.build()


class CandidateStore:
    """Per user (row): candidate items (CSR layout), every algorithm's score of them, floors.

    Parameters
    ----------
    users : ndarray
        User indices of the rows, ascending.
    split : Split
        Seen and candidate items (what may fill a list when too few candidates remain).
    indptr, items : ndarray
        Row ``r``'s candidates are ``items[indptr[r]:indptr[r + 1]]``, ascending.
    values : dict of ndarray
        Each algorithm's normalized score of every candidate (aligned with ``items``).
    floors : dict of ndarray
        Each row's floor per algorithm (upper bound of its score of non-candidates).
    probe : Probe
        Exact scores of each row's held-out items and sampled negatives (for AUC).
    """

    def __init__(self, users: np.ndarray, split: Split, indptr: np.ndarray, items: np.ndarray,
                 values: dict[str, np.ndarray], floors: dict[str, np.ndarray], probe: Probe,
                 candidates: int, seconds: dict[str, float] | None = None):
        self.users, self.split, self.indptr, self.items = users, split, indptr, items
        self.values, self.floors, self.probe = values, floors, probe
        self.candidates, self.seconds = candidates, seconds or {}

    @property
    def names(self) -> list[str]:
        return list(self.values)

    @property
    def nbytes(self) -> int:
        """Memory of everything kept (candidates, scores, floors, probe)."""
        arrays = [self.indptr, self.items, *self.values.values(), *self.floors.values(), self.probe.indptr,
                  self.probe.items, self.probe.positive, *self.probe.values.values()]
        return int(sum(a.nbytes for a in arrays))

    def row_of(self, user: int) -> int | None:
        """Row of user index ``user``, or None when the store does not hold that user."""
        row = int(np.searchsorted(self.users, user))
        return row if row < len(self.users) and self.users[row] == user else None

    def mix(self, weights: dict[str, float]) -> np.ndarray:
        """Σ weight · score of every stored candidate (aligned with ``items``): exact."""
        return self._weighted(self.values, len(self.items), weights)

    def probe_mix(self, weights: dict[str, float]) -> np.ndarray:
        """Mixed exact scores of the probe items (layout of ``probe.indptr``)."""
        return self._weighted(self.probe.values, len(self.probe.items), weights)

    def _weighted(self, scores: dict[str, np.ndarray], size: int, weights: dict[str, float]) -> np.ndarray:
        unknown = set(weights) - set(self.values)
        if unknown:
            raise ValueError(f"weights name algorithms without scores: {sorted(unknown)}")
        total = np.zeros(size, dtype=np.float32)
        for name, weight in weights.items():
            if weight:
                total += np.float32(weight) * scores[name]
        return total

    def top_k(self, weights: dict[str, float], k: int, chunk: int = 4096) -> np.ndarray:
        """(n_users, k) best items of the mix, best first; ties to the lower item index.

        Candidates are ranked by their exact mixed score; a user with fewer than k candidates
        gets the lowest-index other rankable items after them.
        """
        mixed = self.mix(weights)
        parts = []
        for start in range(0, len(self.users), chunk):
            stop = min(start + chunk, len(self.users))
            lo = self.indptr[start]
            values, counts = padded(mixed[lo:self.indptr[stop]], self.indptr[start:stop + 1] - lo, k)
            positions = fusion.top_k(values, k)               # a position in a row = its item order
            top = self.items[self.indptr[start:stop, None] + np.minimum(positions, np.maximum(counts - 1, 0)[:, None])
                             ].astype(np.int64) if len(self.items) else np.full(positions.shape, -1)
            top[positions >= counts[:, None]] = -1
            for r in np.flatnonzero((top < 0).any(axis=1)):
                top[r] = self._fill(start + r, top[r], k)
            parts.append(top)
        return np.concatenate(parts) if parts else np.zeros((0, k), dtype=np.int64)

    def _fill(self, row: int, top: np.ndarray, k: int) -> np.ndarray:
        """A short list completed by the lowest-index rankable items that are not candidates."""
        taken = top[top >= 0]
        rankable = rankable_mask(self.split, self.users[row:row + 1])[0]
        rankable[self.items[self.indptr[row]:self.indptr[row + 1]]] = False
        full = np.concatenate([taken, np.flatnonzero(rankable)[: k - len(taken)]])
        return np.concatenate([full, np.full(k - len(full), full[-1] if len(full) else 0)])  # tiny catalogs

    def user_parts(self, user: int, weights: dict[str, float]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """One stored user's weighted score per algorithm over all items (dense rows; items that
        are not candidates hold the floor) and the candidate mask."""
        row = self.row_of(user)
        if row is None:
            raise KeyError(user)
        items = self.items[self.indptr[row]:self.indptr[row + 1]]
        mask = np.zeros(self.split.n_items, dtype=bool)
        mask[items] = True
        parts = {}
        for name in self.values:
            dense = np.full(self.split.n_items, self.floors[name][row], dtype=np.float32)
            dense[items] = self.values[name][self.indptr[row]:self.indptr[row + 1]]
            parts[name] = np.float32(weights.get(name, 0.0)) * dense
        return parts, mask


def padded(values: np.ndarray, indptr: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR-laid rows of ``values`` as one array at least ``k`` wide, padded with -inf; and the
    row lengths. A row's positions keep the CSR order (items ascending)."""
    counts = np.diff(indptr)
    width = max(int(counts.max()) if len(counts) else 0, k)
    out = np.full(len(counts) * width, -np.inf, dtype=np.float32)
    rows = np.repeat(np.arange(len(counts)) * width - indptr[:-1], counts)
    out[rows + np.arange(len(values))] = values
    return out.reshape(len(counts), width), counts
