"""Neural two-tower recommender (torch): item tower over content + id, user tower over history.

The item tower adds a learned id embedding to an MLP over the item's content vector, so
items nobody has interacted with yet still get a meaningful vector from their content. The
user tower pools the vectors of the user's most recent items (attention or mean), so a user
is described by what they consumed rather than by a free embedding: a history edited after
training scores without refitting. Training mirrors a temporal split: it predicts short runs
of each user's time-ordered items from the items just before them (sampled softmax with a
log-Q correction, or BPR) and stops early on an internal validation NDCG@10.
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from typing import Any, ClassVar, Iterator

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from genre.algorithms._torch_state import state_with_net
from genre.algorithms._two_tower_state import fold_in_history, restore_net, two_tower_peak_bytes
from genre.algorithms.base import Progress, Recommender
from genre.constraints import BATCH, FACTORS, LEARNING_RATE, SEED, THREADS, Bound, Constraints, OneOf
from genre.errors import ConfigError, DataError
from genre.features import Features
from genre.fusion import top_k
from genre.metrics import ndcg_at_k

logger = logging.getLogger("genre")

#: Sparse content (e.g. TF-IDF) is reduced to at most this many dimensions first.
MAX_CONTENT_DIMS = 256
#: Users scored per torch call (bounds memory on large catalogs).
_SCORE_BATCH = 1024
#: Users with fewer training items keep them all for training (as in docs/benchmark.md's split).
_MIN_ITEMS_FOR_VALIDATION = 5
#: Training predicts runs of this many consecutive items of a user from the items before them.
_BLOCK = 8
_K = 10


class TwoTower(Recommender):
    """Two-tower neural recommender trained with sampled softmax or BPR.

    Parameters
    ----------
    dim : int
        Size of the item and user vectors.
    hidden : int
        Hidden width of the content MLP and of the user-tower MLP.
    pooling : {"attention", "mean"}
        How the user tower pools history item vectors; attention learns which items (and
        how recent) matter.
    loss : {"sampled_softmax", "bpr"}
        Softmax over in-batch positives plus ``n_negatives`` shared uniform negatives
        (log-Q corrected, so popular items are not over-penalised), or BPR against the same
        uniform negatives.
    epochs, batch_size, lr, weight_decay : training schedule (AdamW). With TF-IDF content on
        the sample, the validation carve prefers lr 3e-3 to the default 1e-2
        (bench/validation_choices.json); ``tuning.hyperparameters`` searches ``tune_grid``.
    n_negatives : int
        Uniform negatives shared by a batch.
    max_history : int
        The most recent items kept per user (by ``features.interaction_times`` when given).
    patience : int
        Epochs without a better validation NDCG@10 before training stops.
    validation_fraction : float
        Share of each user's latest training items (users with at least 5) held out for
        early stopping; 0 trains all ``epochs`` without validation.
    seed, threads : randomness and torch CPU threads (fits are deterministic per seed); one
        thread avoids torch's intra-op overhead on small batches.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> train = sp.random(50, 30, density=0.2, format="csr", random_state=0)
    >>> model = TwoTower(dim=8, hidden=16, epochs=2).fit(train)
    >>> model.score([0, 1]).shape
    (2, 30)
    """

    name = "two_tower"
    tune_grid = {"lr": [0.003, 0.01, 0.03]}
    _parameter_constraints: ClassVar[Constraints] = {
        "dim": FACTORS, "hidden": Bound(1, 4096, int), "pooling": OneOf(("attention", "mean")),
        "loss": OneOf(("sampled_softmax", "bpr")), "epochs": Bound(1, 1000, int), "batch_size": BATCH,
        "lr": LEARNING_RATE, "weight_decay": Bound(0.0, 10.0), "n_negatives": Bound(0, 10_000, int),
        "max_history": Bound(1, 1000, int), "patience": Bound(1, 1000, int),
        "validation_fraction": Bound(0.0, 1.0, high_open=True), "seed": SEED, "threads": THREADS}

    def __init__(self, dim: int = 64, hidden: int = 128, pooling: str = "attention",
                 loss: str = "sampled_softmax", epochs: int = 30, batch_size: int = 512,
                 lr: float = 1e-2, weight_decay: float = 1e-5, n_negatives: int = 128,
                 max_history: int = 50, patience: int = 3, validation_fraction: float = 0.1,
                 seed: int = 0, threads: int = 1) -> None:
        self.dim = dim
        self.hidden = hidden
        self.pooling = pooling
        self.loss = loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.n_negatives = n_negatives
        self.max_history = max_history
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.threads = threads

    # ------------------------------------------------------------------ fit
    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        if self.loss == "bpr" and self.n_negatives < 1:  # the one rule spanning two parameters
            raise ConfigError(f"two_tower.n_negatives must be at least 1 with loss='bpr'; "
                              f"got {self.n_negatives!r}")
        n_items = train.shape[1]
        rng = np.random.default_rng(self.seed)
        starts, sequence = _user_sequences(train, features.interaction_times, rng)
        (sub_starts, sub_sequence), (val_starts, val_sequence) = _hold_out_latest(
            starts, sequence, self.validation_fraction)
        content = _content_matrix(features.item_vectors, n_items, self.seed)
        with _torch_session(self.seed, self.threads) as torch:
            from genre.algorithms._two_tower_nn import TwoTowerNet  # lazy: imports torch

            net = TwoTowerNet(n_items, self.dim, self.hidden, self.max_history, self.pooling, content)
            validation = _Validation(sub_starts, sub_sequence, val_starts, val_sequence,
                                     self.max_history, n_items)
            self.epoch_stats_ = self._train(net, sub_starts, sub_sequence, validation, rng, progress)
            net.eval()
            with torch.no_grad():
                self.item_vectors_ = net.items(torch.arange(n_items)).numpy()
        self.net_ = net
        self.content_dims_ = 0 if content is None else content.shape[1]
        self.user_history_ = _recent(starts, sequence, self.max_history, pad=n_items)

    def _train(self, net: Any, starts: np.ndarray, sequence: np.ndarray, validation: "_Validation",
               rng: np.random.Generator, progress: Progress | None) -> list[dict[str, float]]:
        """Run the epochs; keep the best validation epoch's weights. Returns per-epoch stats."""
        import torch  # lazy: torch is a slow import

        optimizer = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        item_share = np.bincount(sequence, minlength=net.item_id.num_embeddings - 1) / max(len(sequence), 1)
        stats: list[dict[str, float]] = []
        best, best_state, stale = -np.inf, None, 0
        for epoch in range(1, self.epochs + 1):
            net.train()
            order, blocks = _epoch_blocks(starts, rng)
            total = 0.0
            for begin in range(0, len(order), self.batch_size):
                span = slice(begin, begin + self.batch_size)
                loss = self._batch_loss(net, starts, sequence, order[span], blocks[span], item_share, rng)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(order[span])
            row = {"epoch": epoch, "loss": total / max(len(order), 1)}
            message = f"epoch {epoch}: loss {row['loss']:.4f}"
            if validation.n_users:
                row["val_ndcg"] = validation.ndcg(net)
                message += f" val NDCG@10 {row['val_ndcg']:.4f}"
            stats.append(row)
            logger.info("two_tower %s", message)
            if progress is not None:
                progress(epoch, self.epochs, message)
            if not validation.n_users:
                continue
            if row["val_ndcg"] > best:
                best, stale = row["val_ndcg"], 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
            self.best_epoch_ = max(stats, key=lambda r: r["val_ndcg"])["epoch"]
        else:
            self.best_epoch_ = len(stats)
        return stats

    def _batch_loss(self, net: Any, starts: np.ndarray, sequence: np.ndarray, pairs: np.ndarray,
                    blocks: np.ndarray, item_share: np.ndarray, rng: np.random.Generator) -> Any:
        """Loss of one batch of pairs (positions in ``sequence``), grouped in ``blocks``.

        Each block's user is pooled once over the ``max_history`` items before the block's
        first item in the batch; the item tower runs once per distinct item in the batch.
        """
        import torch  # lazy: torch is a slow import

        from genre.algorithms._two_tower_nn import bpr_loss, sampled_softmax_loss  # lazy: imports torch

        n_items = len(item_share)  # also the padding index
        users = np.searchsorted(starts, pairs, side="right") - 1
        targets = sequence[pairs]
        _, block_of_pair = np.unique(blocks, return_inverse=True)
        first = np.full(block_of_pair.max() + 1, len(sequence))
        np.minimum.at(first, block_of_pair, pairs)
        block_users = np.searchsorted(starts, first, side="right") - 1
        histories = _window(starts, sequence, block_users, first - starts[block_users], self.max_history, n_items)
        negatives = rng.integers(0, n_items, size=self.n_negatives)
        ids = np.concatenate([histories.ravel(), targets, negatives])
        unique, inverse = np.unique(ids, return_inverse=True)
        vectors = net.items(torch.from_numpy(unique))
        inverse = torch.from_numpy(inverse)
        n_hist = histories.size
        user_vectors = net.users(vectors[inverse[:n_hist].view(histories.shape)],
                                 torch.from_numpy(histories != n_items))[torch.from_numpy(block_of_pair)]
        positives = vectors[inverse[n_hist:n_hist + len(targets)]]
        negative_vectors = vectors[inverse[n_hist + len(targets):]]
        if self.loss == "bpr":
            return bpr_loss(user_vectors, positives, negative_vectors)
        # logQ correction: expected count of each candidate among the batch's positives
        # (drawn by popularity) and the uniform negatives; without it popular items sink.
        candidates = np.concatenate([targets, negatives])
        log_q = np.log(len(targets) * item_share[candidates] + self.n_negatives / n_items).astype(np.float32)
        return sampled_softmax_loss(user_vectors, positives, negative_vectors, torch.from_numpy(targets),
                                    torch.from_numpy(negatives), torch.from_numpy(users),
                                    torch.from_numpy(log_q))

    fold_in_reason = None  # the user tower reads any history; the net saves as its state_dict arrays
    _state, _restore, _fold_in = state_with_net, restore_net, fold_in_history
    peak_bytes, memory_hint = two_tower_peak_bytes, "batch_size, max_history or dim"

    # ------------------------------------------------------------------ score
    def _score(self, users: np.ndarray) -> np.ndarray:
        return self.user_vectors(users) @ self.item_vectors_.T

    def user_vectors(self, users: np.ndarray | None = None) -> np.ndarray:
        """The user tower's output for ``users`` (all by default): the space ``score`` ranks items in."""
        users = np.arange(len(self.user_history_)) if users is None else np.asarray(users)
        with _torch_session(self.seed, self.threads):
            return _user_vectors(self.net_, self.user_history_[users], self.item_vectors_)


class _Validation:
    """The held-out latest items of each user, and NDCG@10 of a network on them."""

    def __init__(self, sub_starts: np.ndarray, sub_sequence: np.ndarray, val_starts: np.ndarray,
                 val_sequence: np.ndarray, max_history: int, n_items: int) -> None:
        self.users = np.flatnonzero(np.diff(val_starts) > 0)
        self.n_users = len(self.users)
        self.seen = _csr(sub_starts, sub_sequence, n_items)[self.users]
        self.relevant = _csr(val_starts, val_sequence, n_items)[self.users]
        self.histories = _recent(sub_starts, sub_sequence, max_history, pad=n_items)[self.users]

    def ndcg(self, net: Any) -> float:
        import torch  # lazy: torch is a slow import

        net.eval()
        with torch.no_grad():
            items = net.items(torch.arange(net.item_id.num_embeddings - 1)).numpy()
        users = _user_vectors(net, self.histories, items)
        per_user = [ndcg_at_k(top_k(users[rows] @ items.T, _K, self.seen[rows]), self.relevant[rows], _K)
                    for rows in (slice(b, b + _SCORE_BATCH) for b in range(0, self.n_users, _SCORE_BATCH))]
        return float(np.concatenate(per_user).mean())


def _user_vectors(net: Any, histories: np.ndarray, item_vectors: np.ndarray) -> np.ndarray:
    """User-tower output for padded histories (pad = n_items), in batches, without gradients."""
    import torch  # lazy: torch is a slow import

    n_items = len(item_vectors)
    table = torch.from_numpy(np.vstack([item_vectors, np.zeros((1, item_vectors.shape[1]), np.float32)]))
    out = np.empty((len(histories), item_vectors.shape[1]), dtype=np.float32)
    net.eval()
    with torch.no_grad():
        for begin in range(0, len(histories), _SCORE_BATCH):
            chunk = torch.from_numpy(histories[begin:begin + _SCORE_BATCH])
            out[begin:begin + len(chunk)] = net.users(table[chunk], chunk != n_items).numpy()
    return out


@contextmanager
def _torch_session(seed: int, threads: int) -> Iterator[Any]:
    """Seeded, deterministic torch on ``threads`` CPU threads; global torch state restored after."""
    import torch  # lazy: torch is a slow import

    threads_before = torch.get_num_threads()
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        try:
            yield torch
        finally:
            torch.set_num_threads(threads_before)
            torch.use_deterministic_algorithms(deterministic_before)


# ---------------------------------------------------------------------- data preparation
def _user_sequences(train: sp.csr_matrix, times: sp.spmatrix | None,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each user's items oldest first, as (starts, items) in CSR layout.

    Ties (and every pair when there are no times) are ordered by a seeded shuffle.
    """
    n_users, n_items = train.shape
    train = sp.csr_matrix(train, copy=True)  # canonical copy: the caller's matrix stays untouched
    train.eliminate_zeros()
    train.sum_duplicates()
    rows = np.repeat(np.arange(n_users), np.diff(train.indptr))
    stamps = np.zeros(train.nnz)
    if times is not None:
        times = sp.csr_matrix(times, copy=True)
        if times.shape != train.shape:
            raise DataError(f"features.interaction_times has shape {times.shape} but the training "
                            f"matrix is {train.shape}; build both from the same interactions")
        times.sort_indices()
        keys = rows.astype(np.int64) * n_items + train.indices
        time_keys = np.repeat(np.arange(n_users), np.diff(times.indptr)).astype(np.int64) * n_items \
            + times.indices
        where = np.minimum(np.searchsorted(time_keys, keys), max(len(time_keys) - 1, 0))
        found = time_keys[where] == keys if len(time_keys) else np.zeros(len(keys), bool)
        if not found.all():
            logger.warning("two_tower: %d training pairs have no interaction time; they count as oldest",
                           int((~found).sum()))
        stamps = np.where(found, times.data[where] if len(time_keys) else 0.0, -np.inf)
    shuffle = rng.permutation(train.nnz)
    order = shuffle[np.lexsort((stamps[shuffle], rows[shuffle]))]
    return train.indptr.astype(np.int64), train.indices[order].astype(np.int64)


def _hold_out_latest(starts: np.ndarray, sequence: np.ndarray, fraction: float
                     ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split each user's sequence into (train part, latest ``fraction``) in CSR layout."""
    lengths = np.diff(starts)
    n_val = np.where(lengths >= _MIN_ITEMS_FOR_VALIDATION, np.ceil(lengths * fraction), 0).astype(np.int64)
    n_val = np.minimum(n_val, np.maximum(lengths - 1, 0))  # every user keeps a training item
    keep = lengths - n_val
    position = np.arange(len(sequence)) - np.repeat(starts[:-1], lengths)
    is_val = position >= np.repeat(keep, lengths)
    return ((np.r_[0, np.cumsum(keep)], sequence[~is_val]),
            (np.r_[0, np.cumsum(n_val)], sequence[is_val]))


def _recent(starts: np.ndarray, sequence: np.ndarray, width: int, pad: int) -> np.ndarray:
    """(n_users, width) matrix of each user's latest ``width`` items, right-aligned, ``pad`` elsewhere."""
    return _window(starts, sequence, np.arange(len(starts) - 1), np.diff(starts), width, pad)


def _window(starts: np.ndarray, sequence: np.ndarray, users: np.ndarray, ends: np.ndarray,
            width: int, pad: int) -> np.ndarray:
    """Per row, the ``width`` items of ``users[r]`` just before position ``ends[r]``, right-aligned."""
    take = np.minimum(ends, width)
    out = np.full((len(users), width), pad, dtype=np.int64)
    rows = np.repeat(np.arange(len(users)), take)
    offset = np.arange(take.sum()) - np.repeat(np.cumsum(take) - take, take)
    source = np.repeat(starts[users] + ends - take, take) + offset
    out[rows, width - np.repeat(take, take) + offset] = sequence[source]
    return out


def _epoch_blocks(starts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """All pairs in blocks of up to ``_BLOCK`` consecutive items of one user, cut at a fresh
    random offset per user and epoch, blocks shuffled: (pair order, block id of each pair)."""
    lengths = np.diff(starts)
    users = np.repeat(np.arange(len(lengths)), lengths)
    shift = rng.integers(0, _BLOCK, size=len(lengths))
    first_block = np.r_[0, np.cumsum((lengths + shift) // _BLOCK + 1)]
    block = first_block[users] + (np.arange(len(users)) - starts[users] + shift[users]) // _BLOCK
    order = np.argsort(rng.permutation(first_block[-1])[block], kind="stable")
    return order, block[order]


def _csr(starts: np.ndarray, sequence: np.ndarray, n_items: int) -> sp.csr_matrix:
    data = np.ones(len(sequence), dtype=np.float32)
    return sp.csr_matrix((data, sequence, starts), shape=(len(starts) - 1, n_items))


def _content_matrix(vectors: np.ndarray | sp.spmatrix | None, n_items: int, seed: int) -> np.ndarray | None:
    """Dense float32 content (n_items, ≤ d) with rows scaled to norm sqrt(d), or None."""
    if vectors is None:
        return None
    if sp.issparse(vectors):
        matrix = sp.csr_matrix(vectors, dtype=np.float32)
        n_components = min(MAX_CONTENT_DIMS, min(matrix.shape) - 1)
        if matrix.shape[1] > MAX_CONTENT_DIMS and n_components >= 1:

            dense = TruncatedSVD(n_components, random_state=seed).fit_transform(matrix)
        else:
            dense = matrix.toarray()
    else:
        dense = np.asarray(vectors)
    dense = np.asarray(dense, dtype=np.float32)
    if dense.ndim != 2 or dense.shape[0] != n_items:
        raise DataError(f"features.item_vectors must have one row per item ({n_items}), "
                        f"got shape {dense.shape}; encode the same catalog the matrix was built on")
    if not np.isfinite(dense).all():
        raise DataError("features.item_vectors contains NaN or infinite values; re-encode the items")
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    return dense / np.maximum(norms, 1e-12) * np.float32(math.sqrt(dense.shape[1]))
