"""TransformerSeq: a planted next-item pattern, the sample against popularity, cold items, seeds,
validation-only epoch choice, memory-bounded batches and parameter errors.

The contract every algorithm meets (shapes, clone, refit, recommend, progress) runs in
tests/test_algorithms.py; this file holds what is particular to the sequential transformer.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from genre.algorithms import _transformer_data as td
from genre.algorithms import make_algorithm
from genre.algorithms.transformer_seq import TransformerSeq
from genre.data import interaction_matrix
from genre.errors import ConfigError
from genre.evaluate import evaluate
from genre.features import Features
from genre.split import temporal_split

FAST = {"threads": 1, "dim": 32}  # one thread: the CI machine's cores are shared


def planted(n_users: int = 80, n_items: int = 40, length: int = 12, seed: int = 0):
    """Each user takes a run i, i+1, …, i+length-1 of consecutive items (times 1..length)."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, n_items - length - 1, size=n_users)
    rows = np.repeat(np.arange(n_users), length)
    cols = (first[:, None] + np.arange(length)).ravel()
    stamps = np.tile(np.arange(1, length + 1, dtype=np.float64), n_users)
    train = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    times = sp.csr_matrix((stamps, (rows, cols)), shape=(n_users, n_items))
    return train, times, first + length  # the planted next item of each user


@pytest.fixture(scope="module")
def sample_split(sample_dataset):
    """The first 200 users of the sample and items with ≥ 5 of their ratings (as tests/test_algorithms.py),
    BENCHMARK.md's temporal split, features from TRAIN only."""
    frame = sample_dataset.interactions
    frame = frame[frame["user"] < 200]
    frame = frame[frame.groupby("item")["item"].transform("size") >= 5]
    split = temporal_split(frame, sample_dataset.n_users, sample_dataset.n_items)
    times = interaction_matrix(split.train, split.n_users, split.n_items, "timestamp")
    return split, Features(interaction_times=times)


def test_learns_a_planted_next_item_pattern():
    train, times, following = planted()
    model = TransformerSeq(epochs=60, patience=60, lr=5e-3, dropout=0.1, **FAST)
    model.fit(train, Features(interaction_times=times))
    top = model.recommend(np.arange(train.shape[0]), k=1)[:, 0]
    assert (top == following).mean() > 0.7


def test_beats_popularity_on_the_sample_in_a_few_epochs(sample_split):
    split, features = sample_split
    # small batches: many steps per epoch, so a few epochs already learn what people take next
    model = TransformerSeq(epochs=6, batch_size=32, lr=5e-3, **FAST).fit(split.train_matrix(), features)
    popularity = make_algorithm("popularity").fit(split.train_matrix(), features)
    ndcg = evaluate(model.score, split, ks=(10,)).means["ndcg@10"]
    baseline = evaluate(popularity.score, split, ks=(10,)).means["ndcg@10"]
    assert ndcg > baseline, f"transformer_seq NDCG@10 {ndcg:.4f} vs popularity {baseline:.4f}"


def test_refit_learns_the_latest_items_the_validation_carve_held_out():
    train, times, _ = planted(n_items=40)
    n_users = train.shape[0]
    latest = sp.csr_matrix((np.ones(n_users, np.float32), (np.arange(n_users), np.full(n_users, 40))), shape=(n_users, 42))
    train = (sp.hstack([train, sp.csr_matrix((n_users, 2))]) + latest).tocsr()  # item 40: everyone's latest; 41: nobody's
    times = (sp.hstack([times, sp.csr_matrix((n_users, 2))]) + latest * 13.0).tocsr()
    features = Features(interaction_times=times)
    once = TransformerSeq(epochs=4, patience=4, **FAST).fit(train, features)
    scores = once.score(np.arange(n_users))
    np.testing.assert_allclose(scores[:, 40], scores[:, 41])  # held out by the carve: never trained on
    refit = TransformerSeq(epochs=4, patience=4, refit=True, **FAST).fit(train, features)
    assert len(refit.refit_stats_) == refit.best_epoch_ == once.best_epoch_
    scores = refit.score(np.arange(n_users))
    assert (scores[:, 40] > scores[:, 41]).all()
    again = TransformerSeq(epochs=4, patience=4, refit=True, **FAST).fit(train, features)
    np.testing.assert_array_equal(again.score(np.arange(n_users)), scores)


@pytest.mark.parametrize("item_repr", ["content", "both"])
@pytest.mark.parametrize("sparse", [False, True])
def test_cold_items_get_finite_distinct_scores_from_content(item_repr, sparse):
    train, times, _ = planted(n_items=40)
    train = sp.hstack([train, sp.csr_matrix((train.shape[0], 5))]).tocsr()    # items 40..44: nobody took them
    times = sp.hstack([times, sp.csr_matrix((train.shape[0], 5))]).tocsr()
    vectors = np.random.default_rng(1).normal(size=(45, 300 if sparse else 16)).astype(np.float32)
    vectors = sp.csr_matrix(np.where(np.abs(vectors) > 1.0, vectors, 0)) if sparse else vectors
    model = TransformerSeq(epochs=3, item_repr=item_repr, **FAST)
    model.fit(train, Features(item_vectors=vectors, interaction_times=times))
    cold = model.score(np.arange(10))[:, 40:]
    assert np.isfinite(cold).all()
    assert (cold.std(axis=1) > 0).all()


def test_users_without_history_get_finite_scores():
    train, times, _ = planted()
    train, times = sp.vstack([train, sp.csr_matrix((1, 40))]).tocsr(), sp.vstack([times, sp.csr_matrix((1, 40))]).tocsr()
    scores = TransformerSeq(epochs=2, **FAST).fit(train, Features(interaction_times=times)).score([80])
    assert np.isfinite(scores).all() and scores.std() > 0


def test_same_seed_same_scores_other_seed_other_scores():
    train, times, _ = planted()
    features = Features(interaction_times=times)
    first = TransformerSeq(epochs=3, seed=3, **FAST).fit(train, features).score(np.arange(10))
    again = TransformerSeq(epochs=3, seed=3, **FAST).fit(train, features).score(np.arange(10))
    other = TransformerSeq(epochs=3, seed=4, **FAST).fit(train, features).score(np.arange(10))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_epoch_choice_does_not_depend_on_test_data(sample_dataset):
    """Changing every TEST row's item leaves TRAIN, hence the chosen epoch and scores, unchanged."""
    frame = sample_dataset.interactions
    frame = frame[frame["user"] < 60]
    split = temporal_split(frame, sample_dataset.n_users, sample_dataset.n_items)
    perturbed = frame.copy()
    perturbed.loc[split.test.index, "item"] = (perturbed.loc[split.test.index, "item"] * 7 + 1) % split.n_items
    other = temporal_split(perturbed, sample_dataset.n_users, sample_dataset.n_items)
    assert not other.test["item"].equals(split.test["item"])
    fits = []
    for part in (split, other):
        times = interaction_matrix(part.train, part.n_users, part.n_items, "timestamp")
        fits.append(TransformerSeq(epochs=8, patience=2, **FAST).fit(part.train_matrix(),
                                                                     Features(interaction_times=times)))
    assert fits[0].best_epoch_ == fits[1].best_epoch_
    assert fits[0].epoch_stats_ == fits[1].epoch_stats_
    np.testing.assert_array_equal(fits[0].score([0, 1]), fits[1].score([0, 1]))


def test_early_stopping_keeps_the_best_validation_epoch():
    train, times, _ = planted()
    model = TransformerSeq(epochs=30, patience=2, lr=0.02, **FAST).fit(train, Features(interaction_times=times))
    values = [row["val_ndcg"] for row in model.epoch_stats_]
    assert len(values) < 30 and model.best_epoch_ == int(np.argmax(values)) + 1
    assert len(values) - model.best_epoch_ == 2


def test_weight_averaging_scores_with_the_averaged_weights_and_is_deterministic():
    """ema_decay: the kept weights are a step average (not the last trained ones), fits repeat exactly,
    and the averaged model still learns the planted pattern."""
    train, times, following = planted()
    features = Features(interaction_times=times)
    params = {"epochs": 40, "patience": 40, "lr": 5e-3, "dropout": 0.1, **FAST}
    plain = TransformerSeq(**params).fit(train, features)
    averaged = TransformerSeq(ema_decay=0.9, **params).fit(train, features)
    again = TransformerSeq(ema_decay=0.9, **params).fit(train, features)
    np.testing.assert_array_equal(averaged.score(np.arange(10)), again.score(np.arange(10)))
    assert not np.allclose(averaged.score(np.arange(10)), plain.score(np.arange(10)))
    top = averaged.recommend(np.arange(train.shape[0]), k=1)[:, 0]
    assert (top == following).mean() > 0.7
    # the refit has no carve to pick an epoch: it keeps the last averaged weights, not the last trained ones
    refits = [TransformerSeq(ema_decay=decay, refit=True, **{**params, "epochs": 6}).fit(train, features)
              for decay in (0.0, 0.9)]
    assert not np.allclose(refits[0].score(np.arange(10)), refits[1].score(np.arange(10)))


def test_n_models_scores_the_mean_of_the_networks_from_consecutive_seeds():
    """n_models 2 from seed 3 is the networks seed 3 and seed 4 would each fit alone, averaged; one progress
    bar runs over both; each network's epochs are in epoch_stats_."""
    train, times, following = planted()
    features = Features(interaction_times=times)
    params = {"epochs": 8, "patience": 3, "lr": 5e-3, "dropout": 0.1, **FAST}
    alone = [TransformerSeq(seed=seed, **params).fit(train, features) for seed in (3, 4)]
    calls = []
    pair = TransformerSeq(seed=3, n_models=2, **params).fit(
        train, features, progress=lambda done, total, message: calls.append((done, total, message)))
    users = np.arange(train.shape[0])
    mean = (alone[0].score(users) + alone[1].score(users)) / 2
    np.testing.assert_allclose(pair.score(users), mean, rtol=1e-5, atol=1e-5)
    assert pair.best_epoch_ == alone[0].best_epoch_
    assert [row["network"] for row in pair.epoch_stats_] == [1] * len(alone[0].epoch_stats_) + [2] * len(
        alone[1].epoch_stats_)
    assert [c[:2] for c in calls] == [(epoch, 16) for epoch in range(1, len(alone[0].epoch_stats_) + 1)] + [
        (8 + epoch, 16) for epoch in range(1, len(alone[1].epoch_stats_) + 1)]
    assert calls[-1][2].startswith("network 2/2, epoch")


def test_progress_reports_epoch_loss_validation_and_eta_and_cancel_stops_the_fit():
    train, times, _ = planted()
    calls = []

    def progress(done, total, message):
        calls.append((done, total, message))
        if done == 2:
            raise KeyboardInterrupt("cancelled")

    with pytest.raises(KeyboardInterrupt):
        TransformerSeq(epochs=10, **FAST).fit(train, Features(interaction_times=times), progress=progress)
    assert [c[:2] for c in calls] == [(1, 10), (2, 10)]
    assert all(w in calls[0][2] for w in ("epoch 1/10", "loss", "validation NDCG@10", "s left"))
    import torch

    assert not torch.are_deterministic_algorithms_enabled()  # global torch state restored


def test_sampled_softmax_trains_and_auto_switches_on_catalog_size(monkeypatch):
    train, times, following = planted()
    features = Features(interaction_times=times)
    model = TransformerSeq(epochs=40, patience=40, lr=5e-3, dropout=0.1, loss="sampled", n_negatives=16, **FAST)
    model.fit(train, features)
    assert model.loss_ == "sampled"
    assert (model.recommend(np.arange(train.shape[0]), k=1)[:, 0] == following).mean() > 0.5
    from genre.algorithms import transformer_seq

    monkeypatch.setattr(transformer_seq, "SAMPLED_ABOVE", 10)
    assert TransformerSeq(epochs=1, **FAST).fit(train, features).loss_ == "sampled"


def test_micro_batches_and_logit_chunks_give_the_same_model(monkeypatch):
    """Memory bounds change how a batch is computed, not what it computes."""
    from genre.algorithms import transformer_seq

    train, times, _ = planted()
    features = Features(interaction_times=times)
    whole = TransformerSeq(epochs=2, dropout=0.0, **FAST).fit(train, features).score(np.arange(5))
    monkeypatch.setattr(transformer_seq, "_MAX_LOGITS", 200)
    monkeypatch.setattr(transformer_seq, "_MAX_ACTIVATIONS", 1)
    chunked = TransformerSeq(epochs=2, dropout=0.0, **FAST).fit(train, features).score(np.arange(5))
    np.testing.assert_allclose(chunked, whole, rtol=1e-3, atol=1e-4)


def test_time_order_breaks_ties_by_item_and_windows_cover_every_pair_once():
    train = sp.csr_matrix(np.array([[1, 1, 1, 1]], dtype=np.float32))
    times = sp.csr_matrix(np.array([[5.0, 3.0, 3.0, 1.0]]))
    starts, sequence = td.time_ordered(train, times)
    assert sequence.tolist() == [3, 1, 2, 0]
    starts = np.array([0, 23, 23, 30])
    windows = td.epoch_windows(starts, 5, np.random.default_rng(0))
    inputs, targets = td.batch_rows(starts, np.arange(30), windows, 5, pad=99)
    assert sorted(targets[targets >= 0].tolist()) == list(range(30))
    assert (windows[:, 2] - windows[:, 1]).max() <= 5
    first = targets == 0
    assert inputs[first].tolist() == [99]  # a user's first item is predicted from the start token


@pytest.mark.parametrize("params, match", [
    ({"item_repr": "text"}, "item_repr must be one of"),
    ({"dim": 30, "n_heads": 4}, "multiple of n_heads"),
    ({"dropout": 1.0}, "dropout must be"),
    ({"item_repr": "both"}, "needs features.item_vectors"),
    ({"loss": "bpr"}, "loss must be one of"),
])
def test_bad_parameters_name_the_fix(params, match):
    train, times, _ = planted()
    with pytest.raises(ConfigError, match=match):
        TransformerSeq(**params).fit(train, Features(interaction_times=times))


def test_needs_interaction_times():
    train, _, _ = planted()
    with pytest.raises(ConfigError, match="interaction_times"):
        TransformerSeq().fit(train, Features())
