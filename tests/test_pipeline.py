"""Experiment (the run) and TrainedRun (serving it) end to end on a real slice of the sample data."""

import numpy as np
import pytest

from genre.config import RunConfig
from genre.errors import ConfigError, DataError
from genre.run import Experiment

from conftest import first_users


@pytest.fixture(scope="module")
def small_dataset(sample_dataset):
    return first_users(sample_dataset, 150)


def _config(**overrides) -> RunConfig:
    data = {"features": {"modalities": [{"name": "text", "fields": ["title", "genres"], "encoder": "tfidf"}]},
            "algorithms": [{"name": "item_knn", "params": {"k": 100}, "weight": 0.5},
                           {"name": "genre_pref", "weight": 0.3}, {"name": "popularity", "weight": 0.2}],
            "evaluation": {"ks": [10]}}
    data.update(overrides)
    return RunConfig.from_dict(data)


@pytest.fixture(scope="module")
def experiment(small_dataset):
    return Experiment(_config(), dataset=small_dataset).train()


def test_run_reports_every_algorithm_and_the_mix(experiment):
    metrics = experiment.result_.metrics
    assert list(metrics.index) == ["item_knn", "genre_pref", "popularity", "mix"]
    assert {"ndcg@10", "recall@10", "auc", "coverage@10", "diversity@10"} <= set(metrics.columns)
    assert metrics.loc[["item_knn", "genre_pref", "popularity", "mix"], "ndcg@10"].between(0, 1).all()
    assert metrics.loc["item_knn", "ndcg@10"] > metrics.loc["popularity", "ndcg@10"]
    assert {"split", "features", "fit item_knn", "score genre_pref"} <= set(experiment.result_.timings)
    assert set(experiment.result_.slices["slice"]) == {"user activity", "item popularity"}


def test_one_hot_weights_reproduce_a_single_algorithm_without_refitting(experiment):
    fitted = {name: id(model) for name, model in experiment.models_.items()}
    result = experiment.set_weights({"item_knn": 1.0, "genre_pref": 0.0, "popularity": 0.0})
    assert result.metrics.loc["mix", "ndcg@10"] == pytest.approx(result.metrics.loc["item_knn", "ndcg@10"])
    other = experiment.set_weights({"item_knn": 0.0, "genre_pref": 0.0, "popularity": 1.0})
    assert other.metrics.loc["mix", "ndcg@10"] == pytest.approx(other.metrics.loc["popularity", "ndcg@10"])
    assert {name: id(model) for name, model in experiment.models_.items()} == fitted
    with pytest.raises(ConfigError, match="all mix weights are 0"):
        experiment.set_weights({})
    experiment.set_weights({"item_knn": 0.5, "genre_pref": 0.3, "popularity": 0.2})


def test_a_weight_change_changes_the_ranking(experiment):
    user = experiment.user_ids_evaluated[0]
    experiment.set_weights({"item_knn": 1.0, "genre_pref": 0.0, "popularity": 0.0})
    first = experiment.recommend(user, k=10)["item_id"].tolist()
    experiment.set_weights({"item_knn": 0.0, "genre_pref": 1.0, "popularity": 0.0})
    second = experiment.recommend(user, k=10)["item_id"].tolist()
    experiment.set_weights({"item_knn": 0.5, "genre_pref": 0.3, "popularity": 0.2})
    assert first != second


def test_explanations_sum_to_the_fused_score_and_skip_history(experiment):
    user = experiment.user_ids_evaluated[3]
    frame = experiment.recommend(user, k=10, explain=True)
    contributions = frame.filter(like="contrib_").sum(axis=1)
    assert np.allclose(contributions, frame["score"], atol=1e-5)
    assert frame["score"].is_monotonic_decreasing
    history = set(experiment.history(user)["item_id"])
    assert history and not history & set(frame["item_id"])
    assert frame["because"].map(len).gt(0).any()


def test_feedback_updates_the_list_without_refit(experiment):
    user = experiment.user_ids_evaluated[5]
    before = experiment.recommend(user, k=10)
    disliked = before["item_id"].iloc[0]
    liked = before["item_id"].iloc[1]
    after = experiment.recommend(user, k=10, liked=(liked,), disliked=(disliked,))
    assert disliked not in set(after["item_id"]) and liked not in set(after["item_id"])
    assert "contrib_feedback" in after.columns
    assert np.allclose(after.filter(like="contrib_").sum(axis=1), after["score"], atol=1e-5)


def test_unknown_user_is_a_data_error(experiment):
    with pytest.raises(DataError, match="unknown user id"):
        experiment.recommend("no-such-user")


def test_weight_sweep_has_one_row_per_value(experiment):
    sweep = experiment.weight_sweep("genre_pref", [0.0, 0.5, 1.0])
    assert list(sweep["weight"]) == [0.0, 0.5, 1.0] and sweep["ndcg@10"].between(0, 1).all()


def test_tuning_uses_validation_only_and_beats_uniform_on_it(small_dataset):
    config = _config(tuning={"enabled": True, "n_trials": 8})
    given = config.to_dict()
    result = Experiment(config, dataset=small_dataset).run()
    assert config.to_dict() == given  # the run never modifies the config it was given
    curve = result.tuning.curve
    uniform = curve.iloc[3]["ndcg@10"]  # trials 1-3 are the vertices, 4 is the uniform mix
    assert result.tuning.score >= uniform
    assert abs(sum(result.weights.values()) - 1) < 1e-3
    assert result.weights == {a.name: a.weight for a in result.config.algorithms}
    # Tuning never saw TEST: refitting with the chosen weights reproduces the same test metrics.
    replay = RunConfig.from_dict({**result.config.to_dict(), "tuning": {"enabled": False}})
    again = Experiment(replay, dataset=small_dataset).run()
    assert again.metrics.loc["mix", "ndcg@10"] == pytest.approx(result.metrics.loc["mix", "ndcg@10"])


def test_tuning_after_training_changes_only_the_weights(small_dataset):
    trained = Experiment(_config(tuning={"n_trials": 6}), dataset=small_dataset).train()
    models = dict(trained.models_)
    tuning = trained.tune_weights()
    assert trained.weights_ == tuning.weights and trained.result_.weights == tuning.weights
    assert all(trained.models_[name] is model for name, model in models.items())  # nothing refitted
    assert {a.name: a.weight for a in trained.config.algorithms} == tuning.weights


def test_the_config_replays_the_live_weights_and_retunes_only_while_they_are_the_tuned_ones(small_dataset):
    trained = Experiment(_config(tuning={"enabled": True, "n_trials": 4}), dataset=small_dataset).train()
    tuned = dict(trained.weights_)
    assert trained.config.tuning.enabled  # the live weights are tuning's: a replay tunes them again
    hand = {**tuned, "popularity": 0.0}
    result = trained.set_weights(hand)
    for config in (trained.config, result.config):  # what is exported, and what a saved run stores
        assert {a.name: a.weight for a in config.algorithms} == hand
        assert not config.tuning.enabled  # weights set by hand replay as they are
