"""Train/test splits of an interactions frame: pure, seeded functions.

Every split keeps the rows of ``Dataset.interactions`` unchanged (with their original index),
so a split can always be traced back to the source rows. The temporal split and the
cold-start item split follow docs/benchmark.md bit for bit; GENRE's reference figures depend on it.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"user": [0] * 5, "item": [0, 1, 2, 3, 4],
...                       "rating": 1.0, "timestamp": [5, 4, 3, 2, 1]})
>>> split = temporal_split(frame, n_users=1, n_items=5)
>>> split.test["item"].tolist()        # the latest ceil(5/5) = 1 interaction
[0]
"""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genre.data.dataset import interaction_matrix
from genre.errors import ConfigError, DataError


@dataclass
class Split:
    """A train/test partition of interaction rows.

    Attributes
    ----------
    train, test : DataFrame
        Rows of ``Dataset.interactions`` (columns user, item, rating, timestamp; original index).
    n_users, n_items : int
        Sizes of the index spaces (the whole dataset, not only the rows present).
    candidate_items : ndarray or None
        Items to rank at evaluation, ascending (cold-start: the cold items); None = all items.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    n_users: int
    n_items: int
    candidate_items: np.ndarray | None = None

    def train_matrix(self, values: str = "binary") -> sp.csr_matrix:
        """User × item CSR of the training rows (``values`` as in ``Dataset.matrix``)."""
        return interaction_matrix(self.train, self.n_users, self.n_items, values)

    def test_matrix(self) -> sp.csr_matrix:
        """Binary user × item CSR of the test rows: the relevant items at evaluation."""
        return interaction_matrix(self.test, self.n_users, self.n_items, "binary")

    @property
    def test_users(self) -> np.ndarray:
        """Users evaluated, ascending: at least one test row and at least one training row.

        Every split but the cold-start one gives each test user training rows by
        construction; there a user whose history is all cold has nothing to rank from.
        """
        in_test = np.unique(self.test["user"].to_numpy())
        in_train = np.unique(self.train["user"].to_numpy())
        return np.intersect1d(in_test, in_train, assume_unique=True)


# ---------------------------------------------------------------------------- checks
def _exact_fraction(value: float, name: str) -> Fraction:
    """``value`` as an exact fraction in (0, 1): ``ceil(15 * 0.2)`` must be 3, not 4."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a number between 0 and 1, got {value!r}")
    fraction = Fraction(float(value)).limit_denominator(10_000)
    if not 0 < fraction < 1:
        raise ConfigError(f"{name} must be between 0 and 1 (exclusive), got {value!r}")
    return fraction


def _check_count(value: int, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def _check_frame(interactions: pd.DataFrame, n_users: int, n_items: int) -> pd.DataFrame:
    """The interaction rows, validated against the index spaces they claim to live in."""
    if not isinstance(interactions, pd.DataFrame):
        raise DataError(f"interactions must be a DataFrame (Dataset.interactions), "
                        f"got {type(interactions).__name__}")
    missing = [c for c in ("user", "item", "timestamp") if c not in interactions.columns]
    if missing:
        raise DataError(f"interactions lack column(s) {', '.join(missing)}; pass "
                        f"Dataset.interactions (columns user, item, rating, timestamp)")
    _check_count(n_users, "n_users", 1)
    _check_count(n_items, "n_items", 1)
    if len(interactions) == 0:
        raise DataError("too few interactions to split: the interaction table is empty")
    for column, size in (("user", n_users), ("item", n_items)):
        values = interactions[column].to_numpy()
        if values.min() < 0 or values.max() >= size:
            raise DataError(f"interaction {column} indices must lie in 0..{size - 1} "
                            f"(n_{column}s={size}); got {values.min()}..{values.max()}")
    return interactions


def _require_test(n_test_rows: int, min_interactions: int) -> None:
    if n_test_rows == 0:
        raise DataError(f"too few interactions to split: no user has at least {min_interactions} "
                        f"interactions; lower min_interactions or load more data")


# ---------------------------------------------------------------------------- per-user holdouts
def _ordered_positions(interactions: pd.DataFrame, seed: int, by_time: bool) -> np.ndarray:
    """Row positions in a seeded random order, then stably sorted by user (and timestamp).

    The random order first makes timestamp ties break randomly but reproducibly (docs/benchmark.md).
    """
    order = np.random.default_rng(seed).permutation(len(interactions))
    users = interactions["user"].to_numpy()[order]
    if by_time:
        times = interactions["timestamp"].to_numpy()[order]
        return order[np.lexsort((times, users))]  # lexsort is stable
    return order[np.argsort(users, kind="stable")]


def _rank_within_user(sorted_users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each row within its user's block and the block's size (rows sorted by user)."""
    starts = np.r_[True, sorted_users[1:] != sorted_users[:-1]]
    block = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    sizes = np.diff(np.r_[first, len(sorted_users)])
    return np.arange(len(sorted_users)) - first[block], sizes[block]


def _holdout(interactions: pd.DataFrame, n_users: int, n_items: int, *, seed: int, by_time: bool,
             min_interactions: int, n_test: Callable[[np.ndarray], np.ndarray]) -> Split:
    """Users with ≥ ``min_interactions`` rows put their last ``n_test(n)`` ordered rows in test."""
    positions = _ordered_positions(interactions, seed, by_time)
    rank, size = _rank_within_user(interactions["user"].to_numpy()[positions])
    held = (size >= min_interactions) & (rank >= size - n_test(size))
    is_test = np.zeros(len(interactions), dtype=bool)
    is_test[positions[held]] = True
    return Split(interactions[~is_test], interactions[is_test], int(n_users), int(n_items))


def _fraction_split(interactions: pd.DataFrame, n_users: int, n_items: int, test_fraction: float,
                    min_interactions: int, seed: int, *, by_time: bool) -> Split:
    """Validated per-user holdout of the last ``ceil(n * test_fraction)`` ordered rows."""
    _check_frame(interactions, n_users, n_items)
    fraction = _exact_fraction(test_fraction, "test_fraction")
    minimum = _check_count(min_interactions, "min_interactions", 2)
    split = _holdout(interactions, n_users, n_items, seed=seed, by_time=by_time, min_interactions=minimum,
                     # capped at n - 1 so every evaluated user keeps training rows
                     n_test=lambda n: np.minimum(-((-n * fraction.numerator) // fraction.denominator), n - 1))
    _require_test(len(split.test), minimum)
    return split


def temporal_split(interactions: pd.DataFrame, n_users: int, n_items: int, *,
                   test_fraction: float = 0.2, min_interactions: int = 5, seed: int = 42) -> Split:
    """Per user, the latest ``ceil(n * test_fraction)`` interactions go to test (docs/benchmark.md).

    Users with fewer than ``min_interactions`` rows stay wholly in train and are not evaluated.
    The count is exact: 15 rows at 0.2 hold out 3 (floating point would say 4).
    """
    return _fraction_split(interactions, n_users, n_items, test_fraction, min_interactions, seed,
                           by_time=True)


def random_split(interactions: pd.DataFrame, n_users: int, n_items: int, *,
                 test_fraction: float = 0.2, min_interactions: int = 5, seed: int = 42) -> Split:
    """Per user, a seeded random ``ceil(n * test_fraction)`` of the interactions go to test."""
    return _fraction_split(interactions, n_users, n_items, test_fraction, min_interactions, seed,
                           by_time=False)


def leave_last_out(interactions: pd.DataFrame, n_users: int, n_items: int, *,
                   min_interactions: int = 2, seed: int = 42) -> Split:
    """Per user, the single latest interaction goes to test (timestamp ties broken by ``seed``)."""
    _check_frame(interactions, n_users, n_items)
    minimum = _check_count(min_interactions, "min_interactions", 2)
    split = _holdout(interactions, n_users, n_items, seed=seed, by_time=True, min_interactions=minimum,
                     n_test=lambda n: np.ones_like(n))
    _require_test(len(split.test), minimum)
    return split


def kfold_splits(interactions: pd.DataFrame, n_users: int, n_items: int, *,
                 n_folds: int = 5, min_interactions: int = 5, seed: int = 42) -> list[Split]:
    """``n_folds`` splits whose test parts partition each eligible user's rows.

    Each user with ≥ ``min_interactions`` rows deals their rows, in a seeded random order, to
    the folds in turn (starting at a random fold, so that no fold is systematically larger);
    other users stay in train in every fold.
    """
    _check_frame(interactions, n_users, n_items)
    folds = _check_count(n_folds, "n_folds", 2)
    minimum = _check_count(min_interactions, "min_interactions", 2)
    positions = _ordered_positions(interactions, seed, by_time=False)
    users = interactions["user"].to_numpy()[positions]
    rank, size = _rank_within_user(users)
    offset = np.random.default_rng([seed, 1]).integers(folds, size=int(n_users))[users]
    fold_of = np.full(len(interactions), -1, dtype=np.int64)
    eligible = size >= minimum
    fold_of[positions[eligible]] = (rank[eligible] + offset[eligible]) % folds
    _require_test(int(eligible.sum()), minimum)
    return [Split(interactions[fold_of != f], interactions[fold_of == f], int(n_users), int(n_items))
            for f in range(folds)]


# ---------------------------------------------------------------------------- cold-start items
def _cold_split(interactions: pd.DataFrame, n_users: int, n_items: int, pool: np.ndarray, *,
                cold_fraction: float = 0.2, seed: int = 42) -> Split:
    """Treat a seeded ``cold_fraction`` of ``pool`` (ascending item indices) as cold."""
    fraction = _exact_fraction(cold_fraction, "cold_fraction")
    size = len(pool) * fraction.numerator // fraction.denominator
    if size == 0:
        raise DataError(f"too few items for a cold-start split: {cold_fraction} of {len(pool)} "
                        f"items is none; raise cold_fraction or load more items")
    cold = pool[np.sort(np.random.default_rng(seed).choice(len(pool), size=size, replace=False))]
    is_cold = np.isin(interactions["item"].to_numpy(), cold)
    split = Split(interactions[~is_cold], interactions[is_cold], int(n_users), int(n_items),
                  candidate_items=cold)
    if len(split.test_users) == 0:
        raise DataError("too few interactions for a cold-start split: no user has interactions "
                        "with both cold and warm items; raise cold_fraction or load more data")
    return split


def cold_item_split(interactions: pd.DataFrame, n_users: int, n_items: int, *,
                    cold_fraction: float = 0.2, seed: int = 42) -> Split:
    """Hold out every interaction of a seeded set of "cold" items (docs/benchmark.md protocol).

    COLD = ``np.sort(default_rng(seed).choice(n_items, size=floor(n_items * cold_fraction)))``;
    train = interactions with warm items, test = interactions with cold items, and only the
    cold items are ranked at evaluation (``candidate_items``).
    """
    _check_frame(interactions, n_users, n_items)
    return _cold_split(interactions, n_users, n_items, np.arange(int(n_items)),
                       cold_fraction=cold_fraction, seed=seed)


# ---------------------------------------------------------------------------- by name
SPLIT_METHODS: dict[str, Callable[..., Split]] = {
    "temporal": temporal_split,
    "random": random_split,
    "leave_last_out": leave_last_out,
    "cold_items": cold_item_split,
}


def _method(method: str, params: dict[str, Any]) -> Callable[..., Split]:
    """The split function named ``method``, after checking ``params`` are its keywords."""
    if method not in SPLIT_METHODS:
        raise ConfigError(f"unknown split method {method!r}; valid methods: {', '.join(SPLIT_METHODS)}")
    function = SPLIT_METHODS[method]
    valid = [p.name for p in inspect.signature(function).parameters.values()
             if p.kind == p.KEYWORD_ONLY]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(f"split method {method!r} has no parameter(s) {', '.join(unknown)}; "
                          f"valid parameters: {', '.join(valid)}")
    return function


def share_param(method: str) -> str | None:
    """The keyword that sets split ``method``'s held-out share (``test_fraction``, ``cold_fraction``),
    read from its signature; None when the method holds out a fixed count (leave-last-out)."""
    return next((p for p in inspect.signature(_method(method, {})).parameters if p.endswith("_fraction")), None)


def split_interactions(interactions: pd.DataFrame, n_users: int, n_items: int,
                       method: str = "temporal", **params: Any) -> Split:
    """Split with the method named in a config (see ``SPLIT_METHODS``)."""
    return _method(method, params)(interactions, n_users, n_items, **params)


def validation_split(split: Split, method: str = "temporal", **params: Any) -> Split:
    """Apply the same rule to ``split.train`` → (train_sub, validation); test is never touched.

    Tune on this split, refit on ``split.train`` and evaluate once on ``split.test``. For
    ``"cold_items"`` a seeded ``cold_fraction`` of the *warm* items (those not in
    ``split.candidate_items``) is treated as cold.
    """
    function = _method(method, params)
    if method != "cold_items":
        return function(split.train, split.n_users, split.n_items, **params)
    _check_frame(split.train, split.n_users, split.n_items)
    warm = np.arange(split.n_items)
    if split.candidate_items is not None:
        warm = np.setdiff1d(warm, split.candidate_items)
    return _cold_split(split.train, split.n_users, split.n_items, warm, **params)
