"""Per-algorithm score blocks of the evaluated users: kept within a memory budget, else streamed.

Mixing needs every algorithm's normalised scores for every evaluated user and every item.
On MovieLens-sized data those blocks are small (610 users × 9,724 items × 4 bytes = 24 MB
each), so they are computed once and a new set of mix weights is a weighted sum. At 100k
users × 200k items one block alone would be 80 GB: then nothing is kept, and each pass
(evaluation, weight change, sweep) re-scores the fitted models one user batch at a time,
so memory stays at a few batches whatever the data size.

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
>>> scores = ScoreBlocks({"popularity": model}, split, split.test_users, FusionConfig(), budget_mb=0)
>>> scores.kept, [batch.tolist() for batch, _ in scores.batches()]
(False, [[0, 1]])
"""

from __future__ import annotations

import time
from typing import Any, Callable, Hashable, Iterator

import numpy as np
import scipy.sparse as sp

from genre import fusion
from genre.algorithms import Recommender
from genre.split import Split

#: Memory the kept blocks (algorithms × evaluated users × items, float32) may take.
DEFAULT_SCORE_BUDGET_MB = 1024

#: Largest evaluated users × candidate items per algorithm; beyond it a seeded user sample is
#: evaluated (ranking 100k users against 200k items is 2·10¹⁰ scores per algorithm: hours).
DEFAULT_MAX_EVAL_SCORES = 1_000_000_000


def normalise_block(raw: np.ndarray, seen: sp.spmatrix | None, candidates: np.ndarray | None,
                    config) -> np.ndarray:
    """Normalise one algorithm's scores over the rankable items (unseen, and candidates only)."""
    if candidates is None:
        block = fusion.normalize(raw, config.normalization, seen)
        return fusion.soften(block, config.temperature)
    sub_seen = seen[:, candidates] if seen is not None else None
    sub = fusion.soften(fusion.normalize(raw[:, candidates], config.normalization, sub_seen),
                        config.temperature)
    block = np.zeros_like(raw, dtype=np.float32)
    block[:, candidates] = sub
    return block


def sample_users(split: Split, max_scores: float, seed: int, what: str = "test") -> tuple[np.ndarray, str | None]:
    """``split.test_users``, or a seeded sorted sample of them when ranking all of them against
    the candidate items would exceed ``max_scores``; with a note saying so (None if all)."""
    users = split.test_users
    n_candidates = split.n_items if split.candidate_items is None else len(split.candidate_items)
    limit = max(1, int(max_scores // max(n_candidates, 1)))
    if len(users) <= limit:
        return users, None
    chosen = np.sort(np.random.default_rng(seed).choice(users, size=limit, replace=False))
    return chosen, (f"{what} metrics are over a seeded random sample of {limit:,} of the {len(users):,} "
                    f"{what} users: ranking all of them against {n_candidates:,} items would exceed "
                    f"{max_scores:.2g} scores per algorithm")


class ScoreBlocks:
    """Normalised scores of fitted models for fixed users: kept in memory, or re-scored per batch.

    Parameters
    ----------
    models : dict
        Fitted recommenders by name.
    split : Split
        Seen items (excluded from normalisation) and candidate items come from it.
    users : ndarray
        User indices, ascending: the rows.
    fusion_config : FusionConfig
        Normalisation and temperature.
    budget_mb : float
        Memory the blocks of all models may take; above it they are not kept (``kept`` False).
    report : callable, optional
        ``report(message)`` before each model is scored (the pipeline's stage messages).
    """

    def __init__(self, models: dict[str, Recommender], split: Split, users: np.ndarray, fusion_config,
                 *, budget_mb: float = DEFAULT_SCORE_BUDGET_MB, report: Callable[[str], None] | None = None):
        self.models, self.split, self.users, self.fusion_config = models, split, users, fusion_config
        self.train = split.train_matrix()
        self.seconds: dict[str, float] = {}
        need = len(models) * len(users) * split.n_items * 4
        self.kept = need <= float(budget_mb) * 2**20
        self.note = None if self.kept else (
            f"score blocks not kept: {len(models)} algorithms × {len(users):,} users × {split.n_items:,} items "
            f"need {need / 2**30:.1f} GB, above the {budget_mb:g} MB budget; every pass (evaluation, weight "
            f"change) re-scores the models in user batches")
        self.blocks: dict[str, np.ndarray] | None = self._fill(report) if self.kept else None

    def _rows(self, model: Recommender, users: np.ndarray) -> np.ndarray:
        raw = model.score(users)
        return normalise_block(raw, self.train[users], self.split.candidate_items, self.fusion_config)

    def _step(self, n_blocks: int) -> int:
        from genre.evaluate import rows_per_batch

        return rows_per_batch(self.split.n_items, n_blocks=n_blocks)

    def _fill(self, report: Callable[[str], None] | None) -> dict[str, np.ndarray]:
        """Every model's block, filled batch by batch so temporaries stay small."""
        step, blocks = self._step(4), {}
        for name, model in self.models.items():
            if report is not None:
                report(f"scoring {name}")
            began = time.perf_counter()
            block = np.empty((len(self.users), self.split.n_items), dtype=np.float32)
            for start in range(0, len(self.users), step):
                block[start:start + step] = self._rows(model, self.users[start:start + step])
            blocks[name] = block
            self.seconds[name] = time.perf_counter() - began
        return blocks

    def batches(self, n_extra: int = 0) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """(user batch, block per model): slices of the kept blocks, or scored now.

        ``n_extra`` more blocks of the batch's size will be made by the caller (e.g. mixes);
        batches shrink so that all of them together stay near ``evaluate.BATCH_BYTES``. When
        scoring, ``seconds`` holds each model's time over the pass.
        """
        step = self._step(len(self.models) + n_extra + 4)
        if not self.kept:
            self.seconds = {}
        for start in range(0, len(self.users), step):
            batch = self.users[start:start + step]
            if self.blocks is not None:
                yield batch, {name: block[start:start + step] for name, block in self.blocks.items()}
                continue
            blocks = {}
            for name, model in self.models.items():
                began = time.perf_counter()
                blocks[name] = self._rows(model, batch)
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - began
            yield batch, blocks

    def user_rows(self, user: int) -> dict[str, np.ndarray]:
        """Each model's normalised (1, n_items) row for one user (any user, kept or not)."""
        if self.blocks is not None:
            row = np.searchsorted(self.users, user)
            if row < len(self.users) and self.users[row] == user:
                return {name: block[row:row + 1] for name, block in self.blocks.items()}
        return {name: self._rows(model, np.array([user])) for name, model in self.models.items()}

    def evaluate(self, mixes: dict[Hashable, dict[str, float]], *, singles: bool, ks: tuple[int, ...],
                 item_vectors: Any = None) -> dict[tuple[str, Hashable], Any]:
        """Evaluate weighted mixes (and each model alone if ``singles``) in one pass over the users.

        Keys of the result: ``("mix", label)`` for each of ``mixes`` and ``("single", name)``.
        """
        from genre.evaluate import evaluate_many

        def named() -> Iterator[tuple[np.ndarray, dict]]:
            for batch, blocks in self.batches(len(mixes)):
                scores: dict = {("mix", label): fusion.fuse(blocks, weights) for label, weights in mixes.items()}
                if singles:
                    scores.update({("single", name): block for name, block in blocks.items()})
                yield batch, scores

        return evaluate_many(named(), self.users, self.split, ks=ks, item_vectors=item_vectors)
