"""Tuning never sees TEST, and its objective is the evaluation's own metric.

Perturbing TEST (each held-out interaction moved to another user's held-out item) must leave
the tuned weights exactly as they were while the test metrics move; and the objective the
weight search maximises (``genre.evaluate.store_metric``) equals the full evaluation.
"""

import dataclasses

import numpy as np
import pytest

from genre.config import RunConfig
from genre.data import Dataset, load_dataset
from genre.evaluate import evaluate, evaluate_store, store_metric
from genre.run import Experiment
from genre.split import temporal_split
from genre.store import build_store

CONFIG = {"features": {"modalities": [{"name": "text", "fields": ["title", "genres"], "encoder": "tfidf"}]},
          "algorithms": [{"name": "item_knn", "params": {"k": 100}}, {"name": "genre_pref"}, {"name": "popularity"},
                         {"name": "content"}],
          "tuning": {"enabled": True, "n_trials": 12}, "evaluation": {"ks": [10]}}


@pytest.fixture(scope="module")
def small() -> Dataset:
    dataset = load_dataset("sample_data")
    keep = dataset.interactions[dataset.interactions["user"] < 120]
    raw = keep.assign(user=dataset.user_ids[keep["user"]], item=dataset.item_ids[keep["item"]])
    return Dataset.from_frame(raw, dataset.items[dataset.items.index.isin(keep["item"].unique())], name="slice")


def perturbed_test(dataset: Dataset) -> Dataset:
    """The same data with TEST's items shuffled across the test rows (TRAIN and every timestamp kept)."""
    split = temporal_split(dataset.interactions, dataset.n_users, dataset.n_items)
    rows = split.test.index.to_numpy()
    interactions = dataset.interactions.copy()
    shuffled = np.random.default_rng(7).permutation(interactions.loc[rows, "item"].to_numpy())
    interactions.loc[rows, "item"] = shuffled
    return dataclasses.replace(dataset, interactions=interactions)


def test_perturbing_test_leaves_the_tuned_weights_unchanged(small):
    other = perturbed_test(small)
    before = temporal_split(small.interactions, small.n_users, small.n_items)
    after = temporal_split(other.interactions, other.n_users, other.n_items)
    assert before.train.equals(after.train) and not before.test.equals(after.test)

    tuned = Experiment(RunConfig.from_dict(CONFIG), dataset=small).run()
    again = Experiment(RunConfig.from_dict(CONFIG), dataset=other).run()
    assert again.tuning.weights == tuned.weights == tuned.tuning.weights
    assert again.tuning.curve.equals(tuned.tuning.curve)  # every trial scored the same: validation only
    assert again.metrics.loc["mix", "ndcg@10"] != tuned.metrics.loc["mix", "ndcg@10"]  # TEST did change


@pytest.fixture(scope="module")
def store_and_models(small):
    from genre.algorithms import make_algorithm

    split = temporal_split(small.interactions, small.n_users, small.n_items)
    train = split.train_matrix()
    models = {"item_knn": make_algorithm("item_knn", k=100).fit(train), "popularity":
              make_algorithm("popularity").fit(train)}
    config = RunConfig.from_dict(CONFIG)
    store = build_store(models, split, split.test_users, config.fusion, candidates=100, seed=config.seed)
    return store, models, split


@pytest.mark.parametrize("metric", ["ndcg@10", "recall@10", "mrr@10", "hit_rate@5"])
def test_the_tuning_objective_equals_the_full_evaluation(store_and_models, metric):
    store, models, split = store_and_models
    mix = {"item_knn": 0.7, "popularity": 0.3}
    k = int(metric.split("@")[1])
    full = evaluate_store(store, {"mix": mix}, ks=(k,))["mix"].means[metric]
    assert store_metric(store, mix, metric) == pytest.approx(full, abs=1e-12)
    for name, model in models.items():  # one algorithm alone: the store's answer is the exact full ranking's
        one_hot = {n: float(n == name) for n in models}
        exact = evaluate(model.score, split, ks=(k,)).means[metric]
        assert store_metric(store, one_hot, metric) == pytest.approx(exact, abs=1e-12)
