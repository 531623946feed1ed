"""Per-algorithm item-vector spaces: an algorithm entry names its own ``features``, and one algorithm
may appear twice under two names (``algorithm:``), e.g. ContentToCF's map and transfer on two encoders."""

import pytest
import yaml

from genre.config import RunConfig, dump_config
from genre.data import Dataset, load_dataset
from genre.errors import ConfigError
from genre.run import Experiment

from conftest import first_users

TFIDF = {"modalities": [{"name": "text", "fields": ["title", "genres"], "encoder": "tfidf"}]}
GENRES = {"modalities": [{"name": "genres", "fields": ["genres"], "encoder": "multi-hot"}]}


def two_content(**second) -> dict:
    return {"features": TFIDF, "evaluation": {"ks": [10]},
            "algorithms": [{"name": "content"},
                           {"name": "content_genres", "algorithm": "content", "features": GENRES, **second}]}


def test_an_entry_with_its_own_space_and_a_label_round_trips():
    config = RunConfig.from_dict(two_content(weight=0.25))
    entry = config.algorithm("content_genres")
    assert entry.kind == "content" and entry.features.modalities[0].encoder == "multi-hot"
    assert config.algorithm("content").features is None and config.algorithm("content").kind == "content"
    assert RunConfig.from_dict(yaml.safe_load(dump_config(config))) == config


@pytest.mark.parametrize("change, message", [
    ({"algorithm": "magic"}, r"algorithms\[1\].algorithm: unknown algorithm 'magic'"),
    ({"name": "content", "algorithm": "content"}, "lists a name twice.*give each entry its own name"),
    ({"features": {"modalities": []}}, r"algorithms\[1\].features lists no modalities"),
    ({"features": {"modalities": [{"encoder": "tfidf", "params": {"max_features": 0}}]}},
     r"config.algorithms\[1\].features.modalities\[0\].params.max_features"),
    ({"features": {"modalities": [{"encoder": "tfidf", "weight": -1.0}]}},
     r"config.algorithms\[1\].features.modalities\[0\].weight"),
    ({"params": {"weighting": "uniform", "nonsense": 1}}, "nonsense"),
])
def test_bad_entries_are_one_readable_config_error(change, message):
    with pytest.raises(ConfigError, match=message):
        config = RunConfig.from_dict(two_content(**change))
        Experiment(config, dataset=_tiny()).run()  # unknown parameters surface when the algorithm is built


def _tiny() -> Dataset:
    return first_users(load_dataset("sample_data"), 40, name="tiny")


def test_each_entry_is_fitted_on_its_own_space_built_once():
    from genre.run.encoding import build_features
    from genre.split import temporal_split

    dataset = _tiny()
    config = RunConfig.from_dict(two_content())
    trained = Experiment(config, dataset=dataset).train()
    genre_count = len(dataset.genre_matrix()[1])
    assert trained.models_["content_genres"].item_vectors_.shape == (dataset.n_items, genre_count)
    assert trained.models_["content"].item_vectors_.shape[1] > genre_count  # TF-IDF words: the run's space
    assert set(trained.result_.metrics.index) == {"content", "content_genres", "mix"}

    split = temporal_split(dataset.interactions, dataset.n_users, dataset.n_items)
    spaces = {"a": config.algorithm("content_genres").features, "b": config.algorithm("content_genres").features,
              "same_as_run": config.features}
    features, _ = build_features(dataset, split.train, split.test, config.features, spaces=spaces)
    assert features.spaces["a"] is features.spaces["b"]  # one distinct space, built once
    assert features.spaces["same_as_run"] is features.item_vectors
    assert features.for_algorithm("a").item_vectors is features.spaces["a"]
    assert features.for_algorithm("content") is features
