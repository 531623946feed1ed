"""genre.split: docs/benchmark.md counts, determinism, no leakage, each method, error paths."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from genre.data.dataset import Dataset
from genre.errors import ConfigError, DataError
from genre.split import (
    SPLIT_METHODS,
    Split,
    cold_item_split,
    kfold_splits,
    leave_last_out,
    random_split,
    share_param,
    split_interactions,
    temporal_split,
    validation_split,
)


@pytest.fixture(scope="module")
def temporal(sample_dataset: Dataset) -> Split:
    return temporal_split(sample_dataset.interactions, sample_dataset.n_users, sample_dataset.n_items)


def frame(users: list[int], items: list[int], times: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"user": np.asarray(users, dtype=np.int32), "item": np.asarray(items, dtype=np.int32),
                         "rating": np.ones(len(users), dtype=np.float32),
                         "timestamp": np.asarray(times, dtype=np.int64)})


def one_user(n: int, times: list[int] | None = None) -> pd.DataFrame:
    return frame([0] * n, list(range(n)), times if times is not None else list(range(n)))


# ---------------------------------------------------------------------------- docs/benchmark.md
def test_temporal_counts_match_benchmark(temporal: Split) -> None:
    assert len(temporal.train) == 80_419
    assert len(temporal.test) == 20_417
    assert len(temporal.test_users) == 610
    unseen = np.setdiff1d(temporal.test["item"].unique(), temporal.train["item"].unique())
    assert len(unseen) == 1_494


def test_validation_counts_match_benchmark(temporal: Split) -> None:
    val = validation_split(temporal)
    assert (len(val.train), len(val.test)) == (64_081, 16_338)
    assert set(val.train.index) | set(val.test.index) == set(temporal.train.index)
    assert not set(val.test.index) & set(temporal.test.index)


def test_temporal_is_benchmark_bit_for_bit(sample_dataset: Dataset, temporal: Split) -> None:
    # The protocol written out independently with pandas: permute, stable sort, last ceil(n/5).
    rows = sample_dataset.interactions
    shuffled = rows.iloc[np.random.default_rng(42).permutation(len(rows))]
    ordered = shuffled.sort_values(["user", "timestamp"], kind="stable")
    n = ordered.groupby("user")["item"].transform("size")
    position = ordered.groupby("user").cumcount()
    expected = ordered.index[(n >= 5) & (position >= n - (n + 4) // 5)]
    assert sorted(temporal.test.index) == sorted(expected)


def test_cold_item_split_matches_benchmark(sample_dataset: Dataset) -> None:
    split = cold_item_split(sample_dataset.interactions, sample_dataset.n_users, sample_dataset.n_items)
    n = sample_dataset.n_items
    cold = np.sort(np.random.default_rng(42).choice(n, size=n // 5, replace=False))
    np.testing.assert_array_equal(split.candidate_items, cold)
    assert split.test["item"].isin(cold).all() and not split.train["item"].isin(cold).any()
    assert len(split.train) + len(split.test) == sample_dataset.n_interactions
    assert len(split.test_users) == 608


def test_cold_validation_carves_warm_items_only(sample_dataset: Dataset) -> None:
    split = cold_item_split(sample_dataset.interactions, sample_dataset.n_users, sample_dataset.n_items)
    val = validation_split(split, "cold_items")
    warm = np.setdiff1d(np.arange(sample_dataset.n_items), split.candidate_items)
    assert len(val.candidate_items) == len(warm) // 5
    assert np.isin(val.candidate_items, warm).all()
    assert set(val.train.index) | set(val.test.index) == set(split.train.index)
    assert val.test["item"].isin(val.candidate_items).all()
    again = validation_split(split, "cold_items")
    np.testing.assert_array_equal(again.candidate_items, val.candidate_items)


# ---------------------------------------------------------------------------- temporal details
@pytest.mark.parametrize(("n", "held"), [(4, 0), (5, 1), (6, 2), (10, 2), (11, 3), (15, 3), (16, 4)])
def test_temporal_holds_out_exact_ceiling(n: int, held: int) -> None:
    rows = pd.concat([one_user(n), frame([1] * 5, [0] * 5, [0] * 5)], ignore_index=True)
    split = temporal_split(rows, n_users=2, n_items=max(n, 5))
    assert int((split.test["user"] == 0).sum()) == held


def test_temporal_takes_latest_and_keeps_index() -> None:
    rows = one_user(10, times=[9, 0, 8, 1, 7, 2, 6, 3, 5, 4])
    rows.index = rows.index + 100
    split = temporal_split(rows, n_users=1, n_items=10)
    assert sorted(split.test["timestamp"]) == [8, 9]
    assert sorted(split.test.index) == [100, 102]
    assert split.train.index.is_monotonic_increasing


def test_temporal_no_leakage(temporal: Split, sample_dataset: Dataset) -> None:
    assert not set(temporal.train.index) & set(temporal.test.index)
    assert len(temporal.train) + len(temporal.test) == sample_dataset.n_interactions
    latest_train = temporal.train.groupby("user")["timestamp"].max()
    earliest_test = temporal.test.groupby("user")["timestamp"].min()
    assert (earliest_test >= latest_train.loc[earliest_test.index]).all()


def test_timestamp_ties_break_by_seed() -> None:
    rows = one_user(20, times=[0] * 20)
    first = temporal_split(rows, n_users=1, n_items=20, seed=1)
    again = temporal_split(rows, n_users=1, n_items=20, seed=1)
    other = temporal_split(rows, n_users=1, n_items=20, seed=2)
    assert list(first.test.index) == list(again.test.index)
    assert list(first.test.index) != list(other.test.index)
    assert len(other.test) == 4


# ---------------------------------------------------------------------------- other methods
def test_random_split_sizes_and_determinism(sample_dataset: Dataset) -> None:
    rows, n_users, n_items = sample_dataset.interactions, sample_dataset.n_users, sample_dataset.n_items
    split = random_split(rows, n_users, n_items, test_fraction=0.25)
    counts = rows.groupby("user").size()
    held = split.test.groupby("user").size().reindex(counts.index, fill_value=0)
    assert (held == -(-counts // 4)).all()
    again = random_split(rows, n_users, n_items, test_fraction=0.25)
    other = random_split(rows, n_users, n_items, test_fraction=0.25, seed=7)
    assert list(again.test.index) == list(split.test.index)
    assert set(other.test.index) != set(split.test.index)


def test_leave_last_out_holds_out_latest() -> None:
    rows = frame([0, 0, 0, 1, 1, 2], [0, 1, 2, 0, 1, 2], [5, 9, 1, 3, 2, 7])
    split = leave_last_out(rows, n_users=3, n_items=3)
    assert sorted(zip(split.test["user"], split.test["item"])) == [(0, 1), (1, 0)]
    np.testing.assert_array_equal(split.test_users, [0, 1])


def test_kfold_folds_partition_each_users_rows(sample_dataset: Dataset) -> None:
    rows = sample_dataset.interactions.iloc[:6000]
    folds = kfold_splits(rows, sample_dataset.n_users, sample_dataset.n_items, n_folds=4)
    assert len(folds) == 4
    tested = np.concatenate([fold.test.index.to_numpy() for fold in folds])
    counts = rows.groupby("user").size()
    eligible = rows.index[rows["user"].isin(counts.index[counts >= 5])]
    assert len(tested) == len(np.unique(tested))
    assert set(tested) == set(eligible)
    for fold in folds:
        assert len(fold.train) + len(fold.test) == len(rows)
        assert not set(fold.train.index) & set(fold.test.index)
        assert np.isin(fold.test_users, fold.train["user"]).all()
    sizes = [len(fold.test) for fold in folds]
    assert max(sizes) - min(sizes) <= 0.05 * len(rows)


def test_split_interactions_by_name(sample_dataset: Dataset) -> None:
    rows = sample_dataset.interactions.iloc[:3000]
    for name, function in SPLIT_METHODS.items():
        by_name = split_interactions(rows, sample_dataset.n_users, sample_dataset.n_items, name, seed=3)
        direct = function(rows, sample_dataset.n_users, sample_dataset.n_items, seed=3)
        assert list(by_name.test.index) == list(direct.test.index), name
    assert set(SPLIT_METHODS) == {"temporal", "random", "leave_last_out", "cold_items"}


def test_share_param_names_each_methods_held_out_share() -> None:
    shares = {name: share_param(name) for name in SPLIT_METHODS}
    assert shares == {"temporal": "test_fraction", "random": "test_fraction", "leave_last_out": None,
                      "cold_items": "cold_fraction"}
    with pytest.raises(ConfigError, match="valid methods"):
        share_param("chronological")


def test_matrices(temporal: Split, sample_dataset: Dataset) -> None:
    train, test = temporal.train_matrix(), temporal.test_matrix()
    assert train.shape == test.shape == (sample_dataset.n_users, sample_dataset.n_items)
    assert (train.nnz, test.nnz) == (80_419, 20_417)  # ml-latest-small has no repeated pairs
    assert train.multiply(test).nnz == 0
    assert temporal.train_matrix("rating").max() == 5.0


def test_test_users_need_training_rows() -> None:
    rows = frame([0, 0, 1], [0, 1, 1], [0, 0, 0])
    split = Split(rows.iloc[:1], rows.iloc[1:], n_users=2, n_items=2)
    np.testing.assert_array_equal(split.test_users, [0])


# ---------------------------------------------------------------------------- errors
def test_unknown_method_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match="temporal.*random.*leave_last_out.*cold_items"):
        split_interactions(one_user(6), 1, 6, "chronological")


def test_unknown_parameter_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match="test_fraction"):
        split_interactions(one_user(6), 1, 6, "temporal", fraction=0.3)


def test_too_few_interactions() -> None:
    with pytest.raises(DataError, match="too few interactions.*at least 5"):
        temporal_split(one_user(4), 1, 4)
    with pytest.raises(DataError, match="too few interactions"):
        temporal_split(one_user(0), 1, 4)
    with pytest.raises(DataError, match="too few interactions"):
        kfold_splits(one_user(3), 1, 3)


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, float("nan"), "0.2", True])
def test_bad_fraction(fraction: object) -> None:
    with pytest.raises(ConfigError, match="test_fraction"):
        temporal_split(one_user(10), 1, 10, test_fraction=fraction)


@pytest.mark.parametrize("fraction", [np.float32(0.2), 0.2, Fraction(1, 5)])
def test_fraction_types(fraction: object) -> None:
    assert len(temporal_split(one_user(15), 1, 15, test_fraction=fraction).test) == 3


def test_bad_frames() -> None:
    with pytest.raises(DataError, match="timestamp"):
        temporal_split(one_user(6).drop(columns="timestamp"), 1, 6)
    with pytest.raises(DataError, match="item indices must lie in 0..2"):
        temporal_split(one_user(6), 1, 3)
    with pytest.raises(ConfigError, match="n_folds"):
        kfold_splits(one_user(6), 1, 6, n_folds=1)
    with pytest.raises(DataError, match="cold-start"):
        cold_item_split(one_user(3), 1, 3)
