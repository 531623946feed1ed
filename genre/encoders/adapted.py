"""MiniLM adapted to this data: a sentence model fine-tuned so that items consumed in sequence are close.

Why: a frozen sentence model puts items together because their words are alike; what users watch
one after the other says more about what a recommender needs. This encoder trains the top
transformer layer(s) of a local sentence-transformers model (the packaged MiniLM by default) on
consecutive pairs of each user's time-ordered TRAINING history with a symmetric, popularity-corrected
in-batch InfoNCE loss (``genre.encoders.adapt_torch``), under a time budget, keeping the weights best
on held-out pairs from the end of TRAIN (from each user's last ``VAL_TAIL`` pairs, seeded; never TEST).

It needs the training interactions, so ``build_item_vectors(..., interactions=train)`` hands them
over (``use_interactions``) once per fit, with that fit's own training frame: the run's TEST and a
tuning run's VAL are never seen. Its ``id`` hashes the training interactions, every item text, the
parameters and the base model folder's fingerprint, so the embedding cache returns the adapted
vectors of an unchanged fit without training again and any change misses it. With the time budget
as the stopping rule, how far training gets depends on the machine (and ``threads``, which the id
leaves out); ``max_steps`` (or ``patience``) ending it first makes the result reproducible on one machine.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd

from genre.constraints import ENCODER_BATCH, LEARNING_RATE, MODEL_NAME, SEED, THREADS, Bound, Constraints, Flag
from genre.encoders import adapt_torch
from genre.encoders.base import Progress, report_progress
from genre.encoders.sentence import MINILM_NAME, folder_fingerprint, minilm_path, resolve_model_dir
from genre.errors import DataError, EncoderError

#: Validation draws from each user's last this-many consecutive pairs (one alone is a noisy few hundred).
VAL_TAIL = 3
#: ... and holds at most one pair in this many.
VAL_SHARE = 5

#: The frozen lower layers' output of the last catalog, kept for the next fit on the same texts.
_STATES: dict[tuple, Any] = {}


def consecutive_pairs(interactions: pd.DataFrame, usable: np.ndarray, val_pairs: int, seed: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(training pairs, validation pairs) of items consumed one after the other by the same user.

    Each user's rows are ordered by time (ties and missing times by row order); a pair joins two
    different items with text. Validation holds a seeded sample of ``val_pairs`` (at most one pair in
    ``VAL_SHARE``) of the users' last ``VAL_TAIL`` pairs (the end of what is given, i.e. of TRAIN);
    training gets every other pair.
    """
    frame = interactions.reset_index(drop=True)
    keys = [frame["user"].to_numpy(dtype=np.int64)]
    if "timestamp" in frame:  # int64 seconds (0 everywhere when the data has no times: row order)
        keys.insert(0, frame["timestamp"].to_numpy(dtype=np.int64))
    order = np.lexsort([np.arange(len(frame)), *keys])  # user, then time, then row order
    users, items = keys[-1][order], frame["item"].to_numpy(dtype=np.int64)[order]
    same = users[1:] == users[:-1]
    pairs = np.stack([items[:-1][same], items[1:][same]], axis=1)
    owners = users[1:][same]
    keep = (pairs[:, 0] != pairs[:, 1]) & usable[pairs[:, 0]] & usable[pairs[:, 1]]
    pairs, owners = pairs[keep], owners[keep]
    from_end = np.zeros(len(owners), dtype=np.int64)  # 0 = the user's last pair, 1 = the one before...
    if len(owners):
        ends = np.flatnonzero(np.r_[owners[1:] != owners[:-1], True])
        from_end = np.repeat(ends, np.diff(np.r_[-1, ends])) - np.arange(len(owners))
    tail = np.flatnonzero(from_end < VAL_TAIL)
    limit = min(val_pairs, len(pairs) // VAL_SHARE)  # training keeps most pairs even on tiny data
    chosen = np.random.default_rng(seed).permutation(tail)[:limit]
    held = np.zeros(len(pairs), dtype=bool)
    held[chosen] = True
    return pairs[~held], pairs[np.sort(chosen)]


def interactions_digest(interactions: pd.DataFrame) -> str:
    """sha256 of what adaptation reads from the training frame (user, item, timestamp, row order)."""
    columns = [c for c in ("user", "item", "timestamp") if c in interactions]
    hashed = pd.util.hash_pandas_object(interactions[columns], index=False).to_numpy()
    return hashlib.sha256(",".join(columns).encode() + hashed.tobytes()).hexdigest()


def texts_digest(texts: Sequence[str]) -> str:
    """sha256 of every item text, in item order."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


class AdaptedTextEncoder:
    """A local sentence-transformers model whose top layer(s) are fine-tuned on the training interactions.

    Parameters
    ----------
    model : str or path, optional
        The base model folder (or a name in ``$GENRE_CACHE_DIR/models`` / the local HF cache);
        default: the packaged all-MiniLM-L6-v2. BERT-style models with mean or CLS pooling.
    layers : int
        Top transformer layers trained (the rest stay frozen and run once per catalog).
    max_tokens : int
        Tokens kept of each item text (title and genres fit in 32).
    budget_s : float
        Seconds of training (plus one validation over the catalog at the start).
    max_steps, batch_pairs : int
        At most this many steps of ``batch_pairs`` consecutive pairs each.
    lr, temperature : float
        AdamW learning rate; InfoNCE temperature (cosines / temperature are the logits).
    popularity_correction : bool
        Subtract each item's log share of the pairs from its in-batch logit (in-batch negatives are
        drawn by popularity; uncorrected, the loss pushes popular items away from everything).
    val_pairs, val_every, patience : int
        Held-out pairs (from each user's last ``VAL_TAIL`` TRAIN pairs); validate every ``val_every`` steps; stop
        after ``patience`` checks without a better validation MRR.
    seed : int
        Pairs' order, validation sample, dropout.
    batch_size, threads : int
        Texts per forward pass through the frozen layers; torch CPU threads (neither changes the id).
    """

    cacheable = True
    #: ``build_item_vectors`` hands this encoder the training interactions (``use_interactions``).
    needs_interactions = True
    #: What to lower when ``peak_bytes`` is over the run's memory budget.
    memory_hint = "max_tokens"

    _parameter_constraints: ClassVar[Constraints] = {
        "model": MODEL_NAME, "layers": Bound(1, 4, int), "max_tokens": Bound(4, 128, int),
        "budget_s": Bound(1.0, 86_400.0), "max_steps": Bound(1, 1_000_000, int),
        "batch_pairs": Bound(2, 2048, int), "lr": LEARNING_RATE, "temperature": Bound(0.0, 10.0, low_open=True),
        "val_pairs": Bound(10, 100_000, int), "val_every": Bound(1, 100_000, int),
        "patience": Bound(1, 1000, int), "popularity_correction": Flag(), "seed": SEED,
        "batch_size": ENCODER_BATCH, "threads": THREADS}

    def __init__(self, model: str | os.PathLike[str] | None = None, layers: int = 1, max_tokens: int = 32,
                 budget_s: float = 180.0, max_steps: int = 2000, batch_pairs: int = 128, lr: float = 3e-4,
                 temperature: float = 0.05, val_pairs: int = 2000, val_every: int = 25, patience: int = 6,
                 popularity_correction: bool = True, seed: int = 0, batch_size: int = 64, threads: int = 2) -> None:
        self.model, self.layers, self.max_tokens = model, layers, max_tokens
        self.budget_s, self.max_steps, self.batch_pairs = budget_s, max_steps, batch_pairs
        self.lr, self.temperature, self.seed, self.batch_size = lr, temperature, seed, batch_size
        self.val_pairs, self.val_every, self.patience, self.threads = val_pairs, val_every, patience, threads
        self.popularity_correction = popularity_correction
        self.folder = minilm_path() if model is None else resolve_model_dir(model)
        self.base_name = MINILM_NAME if model is None else self.folder.name
        self.fingerprint = folder_fingerprint(self.folder)
        self.last_report: dict[str, Any] = {}
        self._catalog: list[str] | None = None
        self._interactions: pd.DataFrame | None = None
        self._id: str | None = None
        self._top: Any = None

    # ------------------------------------------------------------------ what the run core calls
    def use_interactions(self, interactions: pd.DataFrame, catalog: Sequence[Any]) -> None:
        """Learn from ``interactions`` (columns user, item[, timestamp]; item = index into ``catalog``,
        one text per item). Sets the ``id``; training waits for the first ``encode`` the cache misses."""
        texts = ["" if t is None else str(t) for t in catalog]
        if len(interactions) and int(interactions["item"].max()) >= len(texts):
            raise DataError(f"minilm-adapted: interactions name item {int(interactions['item'].max())} "
                            f"but the catalog has {len(texts)} texts")
        self._catalog, self._interactions, self._top = texts, interactions, None
        params = {k: getattr(self, k) for k in self._parameter_constraints if k not in ("model", "batch_size", "threads")}
        key = json.dumps([params, interactions_digest(interactions), texts_digest(texts)], sort_keys=True)
        self._id = (f"minilm-adapted:{self.base_name}:{self.fingerprint}:"
                    f"{hashlib.sha256(key.encode()).hexdigest()[:20]}")

    @property
    def id(self) -> str:
        """The space's name: base model, its fingerprint, and a hash of parameters, interactions and texts."""
        if self._id is None:
            raise EncoderError("minilm-adapted learns from training interactions: it is built when a run "
                               "trains (Train page, genre run), not on its own")
        return self._id

    @property
    def dim(self) -> int:
        config = self.folder / "config.json"
        if config.is_file():
            return int(json.loads(config.read_text(encoding="utf-8")).get("hidden_size", 384))
        return 384

    def dense_width(self, n_items: int) -> int:
        """Output columns (the base model's hidden size)."""
        return self.dim

    def peak_bytes(self, n_items: int) -> int:
        """The frozen layers' token states (float16, at most ``max_tokens`` a text), the catalog's
        vectors twice (validation), a step's activations (about 16 float32 copies of a batch's
        token states, the feed-forward 4× wide), and about 600 MB for torch and the model."""
        states = n_items * self.max_tokens * self.dim * 2
        step = 16 * 2 * self.batch_pairs * self.max_tokens * self.dim * 4
        return states + 2 * 4 * n_items * self.dim + step + 600 * 2**20

    # ------------------------------------------------------------------ encoding
    def encode(self, inputs: Sequence[Any], progress: Progress | None = None) -> np.ndarray:
        """L2-normalized float32 rows (zero rows for empty texts) through the adapted model,
        training it first when this object has not yet."""
        _ = self.id  # refuses when no interactions were given
        with adapt_torch.threads(self.threads):
            return self._encode(inputs, progress)

    def _encode(self, inputs: Sequence[Any], progress: Progress | None) -> np.ndarray:
        base = adapt_torch.load_base(str(self.folder), self.layers)
        states = self._catalog_states(base, progress)
        if self._top is None:
            self._top, report = self._train(base, states, progress)
            self.last_report = {"adaptation": report}
        texts = ["" if t is None else str(t) for t in inputs]
        where = {text: i for i, text in enumerate(self._catalog or [])}
        known = [where.get(text, -1) for text in texts]
        catalog_vectors = adapt_torch.encode_states(base, self._top, states)
        out = np.zeros((len(texts), base.hidden), dtype=np.float32)
        found = np.array([k >= 0 for k in known], dtype=bool)
        out[found] = catalog_vectors[[k for k in known if k >= 0]]
        others = [i for i, k in enumerate(known) if k < 0]
        if others:  # texts outside the catalog (a free-text query): frozen layers, then the adapted top
            extra = adapt_torch.token_states(base, [texts[i] for i in others], self.layers, self.max_tokens,
                                             self.batch_size)
            out[others] = adapt_torch.encode_states(base, self._top, extra)
        self.last_report["empty"] = int(sum(not t.strip() for t in texts))
        return out

    def _catalog_states(self, base: Any, progress: Progress | None) -> Any:
        """The frozen layers over the catalog, computed once per (model, layers, tokens, texts)."""
        key = (str(self.folder), self.fingerprint, self.layers, self.max_tokens, texts_digest(self._catalog or []))
        if key not in _STATES:
            _STATES.clear()  # one catalog at a time: the states are the largest thing held

            def step(done: int, total: int, message: str) -> None:
                report_progress(progress, done, total, f"minilm-adapted: {message}")

            _STATES[key] = adapt_torch.token_states(base, self._catalog or [], self.layers, self.max_tokens,
                                                    self.batch_size, step)
        return _STATES[key]

    def _train(self, base: Any, states: Any, progress: Progress | None) -> tuple[Any, dict[str, Any]]:
        usable = states.lengths > 0
        pairs, held = consecutive_pairs(self._interactions, usable, self.val_pairs, self.seed)
        if len(pairs) < 2 or len(held) < 1:
            raise DataError(f"minilm-adapted needs consecutive interactions to learn from: the training "
                            f"frame gives {len(pairs)} pairs of different items with text and {len(held)} "
                            f"held-out pairs")
        report_progress(progress, 0, int(self.budget_s), f"minilm-adapted: training on {len(pairs):,} pairs, "
                                                          f"validating on {len(held):,}")

        def step(done: int, total: int, message: str) -> None:
            report_progress(progress, done, total, f"minilm-adapted: {message}")

        return adapt_torch.adapt(base, states, pairs, held, lr=self.lr, temperature=self.temperature,
                                 batch_pairs=min(self.batch_pairs, len(pairs)), budget_s=self.budget_s,
                                 max_steps=self.max_steps, val_every=self.val_every, patience=self.patience,
                                 seed=self.seed, popularity_correction=self.popularity_correction, progress=step)
