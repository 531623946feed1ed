"""Sequence preparation for ``transformer_seq`` (numpy only): time order, the validation carve,
each epoch's training windows, batches, and the negative sampler.

Sequences are kept in CSR layout: ``starts`` (n_users + 1) into ``sequence`` (every user's
items, oldest first). A user's training pairs are (input, target) = (previous item, item) at
every position; the first item's input is the padding / start token (index ``n_items``).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from genre.errors import DataError
from genre.fusion import top_k
from genre.metrics import ndcg_at_k

logger = logging.getLogger("genre")

#: Users with at least this many training items give their latest one to the validation carve.
MIN_ITEMS_FOR_VALIDATION = 5
_K = 10
_SCORE_BATCH = 512


def time_ordered(train: sp.csr_matrix, times: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Each user's items oldest first, as (starts, items) in CSR layout; equal times by item index.

    A training pair without a time counts as the user's oldest (with a warning).
    """
    n_users, n_items = train.shape
    train = sp.csr_matrix(train, copy=True)  # canonical copy: the caller's matrix stays untouched
    train.eliminate_zeros()
    train.sum_duplicates()
    times = sp.csr_matrix(times, copy=True)
    if times.shape != train.shape:
        raise DataError(f"features.interaction_times has shape {times.shape} but the training matrix is "
                        f"{train.shape}; build both from the same interactions")
    times.sum_duplicates()
    rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(train.indptr))
    keys = rows * n_items + train.indices
    time_keys = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(times.indptr)) * n_items + times.indices
    where = np.minimum(np.searchsorted(time_keys, keys), max(len(time_keys) - 1, 0))
    found = time_keys[where] == keys if len(time_keys) else np.zeros(len(keys), bool)
    if not found.all():
        logger.warning("transformer_seq: %d training pairs have no interaction time; they count as oldest",
                       int((~found).sum()))
    stamps = np.where(found, times.data[where] if len(time_keys) else 0.0, -np.inf)
    order = np.lexsort((train.indices, stamps, rows))
    return train.indptr.astype(np.int64), train.indices[order].astype(np.int64)


def carve_last(starts: np.ndarray, sequence: np.ndarray, n_items: int, length: int
               ) -> tuple[tuple[np.ndarray, np.ndarray], Validation]:
    """Hold out the latest item of every user with ≥ ``MIN_ITEMS_FOR_VALIDATION``: (rest, validation)."""
    lengths = np.diff(starts)
    held = lengths >= MIN_ITEMS_FOR_VALIDATION
    last = starts[1:] - 1
    keep = np.ones(len(sequence), dtype=bool)
    keep[last[held]] = False
    sub_starts = np.r_[0, np.cumsum(lengths - held)].astype(np.int64)
    sub_sequence = sequence[keep]
    users = np.flatnonzero(held)
    return (sub_starts, sub_sequence), Validation(sub_starts, sub_sequence, users, sequence[last[held]],
                                                  n_items, length)


class Validation:
    """Each carved user's held-out latest item, and NDCG@10 of a scorer on them (seen items excluded)."""

    def __init__(self, starts: np.ndarray, sequence: np.ndarray, users: np.ndarray, held_out: np.ndarray,
                 n_items: int, length: int) -> None:
        self.n_users = len(users)
        seen = to_csr(starts, sequence, n_items)
        self.seen = seen[users]
        self.relevant = sp.csr_matrix((np.ones(len(users), np.float32), (np.arange(len(users)), held_out)),
                                      shape=(len(users), n_items))
        self.windows = last_windows(starts, sequence, length, n_items)[users]

    @classmethod
    def empty(cls) -> "Validation":
        """No carve: training runs its fixed number of epochs (``transformer_seq``'s refit)."""
        carve = cls.__new__(cls)
        carve.n_users = 0
        return carve

    def ndcg(self, score: Callable[[np.ndarray], np.ndarray]) -> float:
        """Mean NDCG@10 of ``score(windows) -> (n, n_items)`` over the carved users."""
        per_user = []
        for begin in range(0, self.n_users, _SCORE_BATCH):
            rows = slice(begin, begin + _SCORE_BATCH)
            top = top_k(score(self.windows[rows]), _K, self.seen[rows])
            per_user.append(ndcg_at_k(top, self.relevant[rows], _K))
        return float(np.concatenate(per_user).mean())


def to_csr(starts: np.ndarray, sequence: np.ndarray, n_items: int) -> sp.csr_matrix:
    data = np.ones(len(sequence), dtype=np.float32)
    matrix = sp.csr_matrix((data, sequence, starts), shape=(len(starts) - 1, n_items))
    matrix.sum_duplicates()
    return matrix


def last_windows(starts: np.ndarray, sequence: np.ndarray, length: int, pad: int) -> np.ndarray:
    """(n_users, length) each user's latest ``length`` items, right-aligned, ``pad`` before them."""
    lengths = np.diff(starts)
    take = np.minimum(lengths, length)
    out = np.full((len(lengths), length), pad, dtype=np.int64)
    rows = np.repeat(np.arange(len(lengths)), take)
    offset = np.arange(take.sum()) - np.repeat(np.cumsum(take) - take, take)
    out[rows, length - np.repeat(take, take) + offset] = sequence[np.repeat(starts[1:] - take, take) + offset]
    return out


def epoch_windows(starts: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """This epoch's training windows (user, begin, end) over pair positions, shuffled.

    Every pair is a target exactly once: a user's latest ``length`` pairs form one window (the
    context scoring will see) and the earlier pairs are cut into windows of ``length`` at a fresh
    random offset per user and epoch, so no pair always sits at a window's start.
    """
    lengths = np.diff(starts)
    shift = rng.integers(0, max(length, 1), size=len(lengths))
    windows = []
    for user in np.flatnonzero(lengths):
        n = int(lengths[user])
        region = n - length
        windows.append((user, max(region, 0), n))
        if region > 0:
            cuts = np.arange(region - int(shift[user]), 0, -length)
            bounds = np.unique(np.r_[0, cuts, region])
            windows.extend((user, int(a), int(b)) for a, b in itertools.pairwise(bounds))
    table = np.asarray(windows, dtype=np.int64).reshape(-1, 3)
    return table[rng.permutation(len(table))]


def batch_rows(starts: np.ndarray, sequence: np.ndarray, windows: np.ndarray, length: int, pad: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Left-padded (inputs, targets), each (len(windows), length); target -1 where nothing is predicted.

    The input at a pair is the item before it (``pad``, the start token, for a user's first item).
    """
    users, begin, end = windows[:, 0], windows[:, 1], windows[:, 2]
    take = end - begin
    inputs = np.full((len(windows), length), pad, dtype=np.int64)
    targets = np.full((len(windows), length), -1, dtype=np.int64)
    rows = np.repeat(np.arange(len(windows)), take)
    offset = np.arange(take.sum()) - np.repeat(np.cumsum(take) - take, take)
    column = length - np.repeat(take, take) + offset
    position = np.repeat(begin, take) + offset                    # pair position within the user
    flat = np.repeat(starts[users], take) + position
    targets[rows, column] = sequence[flat]
    inputs[rows, column] = np.where(position > 0, sequence[np.maximum(flat - 1, 0)], pad)
    return inputs, targets


def sampler(sequence: np.ndarray, n_items: int, n_negatives: int, rng: np.random.Generator
            ) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """``draw() -> (negatives, log_q)``: ``n_negatives`` items drawn ∝ (count + 1) ** 0.75, and the
    log of every item's expected number of draws (the log-Q correction)."""
    weights = (np.bincount(sequence, minlength=n_items) + 1.0) ** 0.75
    probability = weights / weights.sum()
    cumulative = np.cumsum(probability)
    log_q = np.log(n_negatives * probability).astype(np.float32)

    def draw() -> tuple[np.ndarray, np.ndarray]:
        picks = np.searchsorted(cumulative, rng.random(n_negatives) * cumulative[-1], side="right")
        return np.minimum(picks, n_items - 1).astype(np.int64), log_q

    return draw


def centred_content(content: np.ndarray) -> np.ndarray:
    """Content rows minus the mean of the non-zero rows, rescaled to norm sqrt(d) (zero rows stay zero).

    Sentence embeddings share a large common direction; removing it leaves the linear map the
    part that tells items apart.
    """
    filled = np.abs(content).sum(axis=1) > 0
    if filled.sum() < 2:
        return content
    out = np.zeros_like(content)
    out[filled] = content[filled] - content[filled].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out = out / np.maximum(norms, 1e-12) * np.float32(math.sqrt(content.shape[1]))
    return out.astype(np.float32)
