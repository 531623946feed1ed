"""Exploring weights on the validation carve (genre.run.validation_run), never on TEST."""

import numpy as np
import pytest

from genre.config import RunConfig
from genre.data import Dataset, load_dataset
from genre.run import Experiment
from genre.run.validation_run import validation_run


@pytest.fixture(scope="module")
def tuned():
    dataset = load_dataset("sample_data")
    keep = dataset.interactions[dataset.interactions["user"] < 80]
    raw = keep.assign(user=dataset.user_ids[keep["user"]], item=dataset.item_ids[keep["item"]])
    small = Dataset.from_frame(raw, dataset.items[dataset.items.index.isin(keep["item"].unique())], name="s")
    config = RunConfig.from_dict({"algorithms": [{"name": "popularity"}, {"name": "item_knn", "params": {"k": 50}}],
                                  "features": {"modalities": []}, "evaluation": {"ks": [10]},
                                  "tuning": {"enabled": True, "n_trials": 6}})
    return Experiment(config, dataset=small).train()


def test_the_validation_run_never_holds_a_test_row(tuned):
    val = validation_run(tuned)
    held = set(tuned.split_.test.index)
    assert held.isdisjoint(val.split_.train.index) and held.isdisjoint(val.split_.test.index)
    assert set(val.split_.test.index) <= set(tuned.split_.train.index)
    assert val.weights_ == tuned.weights_  # it starts from the live mix


def test_its_sweeps_score_exactly_what_the_tuner_scored(tuned):
    val = validation_run(tuned)
    curve = tuned.tuning_.curve
    for _, trial in curve.iterrows():
        weights = {name: float(trial[name]) for name in ("popularity", "item_knn")}
        ndcg = val.set_weights(weights).metrics.loc["mix", "ndcg@10"]
        assert ndcg == pytest.approx(trial["ndcg@10"], abs=1e-12)
    sweep = val.weight_sweep("popularity", np.linspace(0, 1, 3))
    assert list(sweep["weight"]) == [0.0, 0.5, 1.0]
