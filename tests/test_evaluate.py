"""genre.evaluate: the docs/benchmark.md reference figure, ranking rules, batching, slices, errors."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from genre.data.dataset import Dataset
from genre.errors import ConfigError, DataError, GenreError
from genre.evaluate import evaluate, evaluate_scores, slice_metrics
from genre.split import Split, cold_item_split, temporal_split


@pytest.fixture(scope="module")
def temporal(sample_dataset: Dataset) -> Split:
    return temporal_split(sample_dataset.interactions, sample_dataset.n_users, sample_dataset.n_items)


def popularity_scorer(split: Split):
    counts = np.asarray(split.train_matrix().sum(axis=0), dtype=np.float32).ravel()
    return lambda users: np.tile(counts, (len(users), 1))


def tiny_split() -> Split:
    """Two users, 6 items. User 0 trained on {0, 1}, tests {2, 5}; user 1 trained on {3}, tests {0}."""
    train = pd.DataFrame({"user": [0, 0, 1], "item": [0, 1, 3], "rating": 1.0, "timestamp": 0})
    test = pd.DataFrame({"user": [0, 0, 1], "item": [2, 5, 0], "rating": 1.0, "timestamp": 1})
    return Split(train, test, n_users=2, n_items=6)


# ---------------------------------------------------------------------------- docs/benchmark.md
def test_most_popular_reference_figures(temporal: Split) -> None:
    result = evaluate(popularity_scorer(temporal), temporal, ks=(10,))
    assert len(result.users) == 610
    assert result.means["ndcg@10"] == pytest.approx(0.0885, abs=5e-4)
    assert result.means["recall@10"] == pytest.approx(0.0384, abs=5e-4)


def test_full_catalog_evaluation_is_fast(temporal: Split) -> None:
    users = temporal.test_users
    scores = np.random.default_rng(0).random((len(users), temporal.n_items), dtype=np.float32)
    evaluate_scores(scores[:10], users[:10], temporal)  # warm-up (first-call imports)
    start = time.process_time()  # CPU time: wall time on a shared machine measures the neighbours
    result = evaluate_scores(scores, users, temporal, ks=(10, 20))
    elapsed = time.process_time() - start
    assert result.top_items.shape == (610, 20)
    assert elapsed < 1.0, f"610 users × {temporal.n_items} items took {elapsed:.2f} s of CPU"


# ---------------------------------------------------------------------------- ranking rules
def test_hand_worked_example() -> None:
    split = tiny_split()
    scores = np.array([[9, 8, 1, 1, 1, 5],      # seen 0, 1 drop out → 5, then ties 2, 3, 4 → 2 first
                       [1, 1, 1, 9, 1, 1]], dtype=np.float32)  # seen 3 → all ties → 0, 1, 2
    result = evaluate_scores(scores, np.array([0, 1]), split, ks=(1, 3))
    np.testing.assert_array_equal(result.top_items, [[5, 2, 3], [0, 1, 2]])
    row = result.per_user
    assert row.loc[0, "recall@1"] == 0.5 and row.loc[0, "recall@3"] == 1.0
    assert row.loc[0, "ndcg@3"] == pytest.approx(1.0)
    assert row.loc[1, "mrr@3"] == 1.0 and row.loc[1, "precision@3"] == pytest.approx(1 / 3)
    # user 0 AUC: positives 5 (score 5) and 2 (1) vs negatives 3, 4 (1, 1): (1 + 1 + ½ + ½) / 4
    assert row.loc[0, "auc"] == pytest.approx(0.75)
    assert result.means["coverage@1"] == pytest.approx(2 / 6)
    assert result.means["recall@3"] == pytest.approx(1.0)
    assert list(row.columns) == ["ndcg@1", "recall@1", "precision@1", "hit_rate@1", "mrr@1", "map@1",
                                 "ndcg@3", "recall@3", "precision@3", "hit_rate@3", "mrr@3", "map@3", "auc"]


def test_train_items_excluded_but_test_items_not(temporal: Split) -> None:
    users = temporal.test_users[:50]
    result = evaluate(popularity_scorer(temporal), temporal, users=users, ks=(20,))
    train = temporal.train_matrix()[users]
    assert not np.take_along_axis(train.toarray(), result.top_items, axis=1).any()
    assert result.per_user["hit_rate@20"].sum() > 0  # test items do appear


def test_batches_do_not_change_results(temporal: Split) -> None:
    scorer, users = popularity_scorer(temporal), temporal.test_users[::4]
    whole = evaluate(scorer, temporal, ks=(5, 10), users=users)
    batched = evaluate(scorer, temporal, ks=(5, 10), users=users, batch_size=37)
    pd.testing.assert_frame_equal(whole.per_user, batched.per_user)
    np.testing.assert_array_equal(whole.top_items, batched.top_items)
    scores = scorer(whole.users)
    assert evaluate_scores(scores, users, temporal, ks=(5, 10)).means == whole.means


def test_beyond_accuracy_means(temporal: Split) -> None:
    vectors = np.random.default_rng(1).normal(size=(temporal.n_items, 8))
    users = temporal.test_users[:200]
    result = evaluate(popularity_scorer(temporal), temporal, ks=(10,), users=users, item_vectors=vectors)
    assert {"coverage@10", "diversity@10", "novelty@10", "popularity_bias@10"} <= set(result.means)
    assert result.means["popularity_bias@10"] > 0.5  # most-popular recommends the head
    assert result.means["coverage@10"] == len(np.unique(result.top_items)) / temporal.n_items < 0.05
    plain = evaluate(popularity_scorer(temporal), temporal, ks=(10,), users=users[:20])
    assert "diversity@10" not in plain.means


def test_cold_start_ranks_candidates_only(sample_dataset: Dataset) -> None:
    split = cold_item_split(sample_dataset.interactions, sample_dataset.n_users, sample_dataset.n_items)
    users = split.test_users[:40]
    result = evaluate(lambda u: np.zeros((len(u), split.n_items), dtype=np.float32), split, users=users)
    np.testing.assert_array_equal(result.top_items[0], split.candidate_items[:10])  # ties → lower index
    assert np.isin(result.top_items, split.candidate_items).all()
    assert result.means["coverage@10"] == pytest.approx(10 / len(split.candidate_items))
    assert result.means["auc"] == pytest.approx(0.5)  # all ties


# ---------------------------------------------------------------------------- slices
def test_slice_metrics(temporal: Split) -> None:
    result = evaluate(popularity_scorer(temporal), temporal, ks=(10,))
    slices = slice_metrics(result, temporal, activity_threshold=50, k=10)
    assert list(slices["slice"]) == ["user activity"] * 2 + ["item popularity"] * 2
    activity = slices.iloc[:2]
    assert activity["n_users"].sum() == len(result.users)
    weighted = (activity["recall@10"] * activity["n_users"]).sum() / activity["n_users"].sum()
    assert weighted == pytest.approx(result.means["recall@10"])
    head, tail = slices.iloc[2], slices.iloc[3]
    assert head["recall@10"] > tail["recall@10"]  # most-popular only ever recommends the head
    assert tail["recall@10"] == 0.0
    assert head["n_users"] <= len(result.users) and tail["n_users"] <= len(result.users)


def test_slice_of_hand_example() -> None:
    split = tiny_split()  # train popularity: items 0, 1, 3 once → head (top 1/6 of 6 items) = item 0
    scores = np.array([[0, 0, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=np.float32)
    result = evaluate_scores(scores, np.array([0, 1]), split, ks=(1,))
    slices = slice_metrics(result, split, activity_threshold=1, head_fraction=1 / 6, k=1).set_index("group")
    assert slices["n_users"].tolist() == [1, 1, 1, 1]
    assert slices["recall@1"].tolist() == [1.0, 0.5, 1.0, 0.5]


# ---------------------------------------------------------------------------- errors
def test_errors(temporal: Split) -> None:
    split = tiny_split()
    with pytest.raises(GenreError, match="shape"):
        evaluate(lambda u: np.zeros((len(u), 5)), split)
    with pytest.raises(GenreError, match="NaN"):
        evaluate(lambda u: np.full((len(u), 6), np.nan), split)
    with pytest.raises(ConfigError, match="ks"):
        evaluate(lambda u: np.zeros((len(u), 6)), split, ks=(0,))
    with pytest.raises(DataError, match="user indices"):
        evaluate(lambda u: np.zeros((len(u), 6)), split, users=np.array([7]))
    with pytest.raises(DataError, match="one row per item"):
        evaluate(lambda u: np.zeros((len(u), 6)), split, item_vectors=np.zeros((5, 2)))
    with pytest.raises(GenreError, match="one row per user"):
        evaluate_scores(np.zeros((3, 6)), np.array([0, 1]), split)
    result = evaluate(lambda u: np.zeros((len(u), 6)), split, ks=(1,))
    with pytest.raises(ConfigError, match="k=10 was not evaluated"):
        slice_metrics(result, split, k=10)
    with pytest.raises(ConfigError, match="head_fraction"):
        slice_metrics(result, split, k=1, head_fraction=1.5)
