"""One contract, run against every classical algorithm, on a real slice of MovieLens.

Each case only says how to build the model and which features it gets; every test below
applies to all of them (the pattern of implicit's ``recommender_base_test``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from genre.algorithms import ALGORITHM_NAMES, Recommender, algorithm_class, make_algorithm
from genre.data import Dataset, interaction_matrix
from genre.errors import ConfigError, NotFittedError
from genre.evaluate import evaluate
from genre.features import Features
from genre.split import temporal_split, validation_split

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
MINE = ALGORITHM_NAMES  # every registered algorithm is held to the contract (a case below for each)
#: Algorithms whose parameters are set by hand, never by the hyper-parameter tuner (and why).
HAND_SET = {"profile": "history_weight blends the LLM profile with the history: the user's call"}


@dataclass(frozen=True)
class Case:
    name: str
    params: dict = field(default_factory=dict)
    vectors: str | None = None  # "tfidf" (sparse) or "dense" item vectors; "profile": dense + user vectors
    beats_popularity: bool = False

    @property
    def id(self) -> str:
        return self.name + (f"-{self.vectors}" if self.vectors else "")


CASES = [
    Case("popularity"),
    Case("item_knn", {"k": 100}, beats_popularity=True),
    Case("ease", {"l2": 100.0}, beats_popularity=True),
    Case("als", {"factors": 32, "regularization": 5.0, "iterations": 10}, beats_popularity=True),
    Case("bpr", {"factors": 32}, beats_popularity=True),
    Case("content", {"weighting": "recency", "half_life_days": 200.0}, vectors="tfidf"),
    Case("content", {"weighting": "rating"}, vectors="dense"),
    Case("genre_pref", {"alpha": 5.0}),
    Case("sequential", {"window": 10, "last": 5}),
    Case("two_tower", {"epochs": 3}, vectors="tfidf", beats_popularity=True),
    Case("transformer_seq", {"epochs": 5, "dim": 32, "lr": 3e-3, "item_repr": "both"}, vectors="tfidf"),
    Case("content_to_cf", {"epochs": 30, "factors": 16}, vectors="tfidf"),
    Case("content_to_cf", {"epochs": 30, "factors": 16, "knn_weight": 0.5}, vectors="dense"),
    Case("profile", {"history_weight": 0.3}, vectors="profile"),
]


@pytest.fixture(scope="module")
def data() -> tuple[Dataset, object, Features]:
    """The first 200 users, items with ≥ 5 of their ratings; the validation split of its temporal split."""
    ratings = pd.read_csv(SAMPLE / "ratings.csv")
    ratings = ratings[ratings["userId"] <= 200]
    ratings = ratings[ratings.groupby("movieId")["movieId"].transform("size") >= 5]
    movies = pd.read_csv(SAMPLE / "movies.csv").rename(columns={"movieId": "item_id"})
    dataset = Dataset.from_frame(
        ratings.rename(columns={"userId": "user", "movieId": "item"}), movies)
    split = validation_split(temporal_split(dataset.interactions, dataset.n_users, dataset.n_items))
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer().fit_transform(dataset.item_text(("title", "genres"))).astype(np.float32)
    genres, names = dataset.genre_matrix()
    features = Features(
        item_vectors=sp.csr_matrix(tfidf), item_genres=genres, genre_names=names,
        interaction_times=interaction_matrix(split.train, dataset.n_users, dataset.n_items, "timestamp"),
        interaction_ratings=interaction_matrix(split.train, dataset.n_users, dataset.n_items, "rating"))
    return dataset, split, features


def features_for(case: Case, features: Features, train: sp.csr_matrix | None = None) -> Features:
    """The case's features; "profile": each user's text vector is the sum of their training items'
    TF-IDF (what a profile written from the history describes), in the items' space."""
    if case.vectors in ("dense", "profile"):
        dense = np.asarray(features.item_vectors.todense(), dtype=np.float32)
        users = np.asarray(train @ dense, dtype=np.float32) if case.vectors == "profile" else None
        return Features(**{**features.__dict__, "item_vectors": dense, "user_vectors": users})
    return features


def fit(case: Case, data, **overrides) -> Recommender:
    _, split, features = data
    model = make_algorithm(case.name, **{**case.params, **overrides})
    return model.fit(split.train_matrix(), features_for(case, features, split.train_matrix()))


@pytest.fixture(scope="module")
def fitted(data) -> dict[str, Recommender]:
    return {case.id: fit(case, data) for case in CASES}


def ndcg10(model: Recommender, split) -> float:
    return evaluate(model.score, split, ks=(10,)).means["ndcg@10"]


# ---------------------------------------------------------------------------- registry
def test_registry_names_the_classes_it_builds():
    assert {case.name for case in CASES} == set(ALGORITHM_NAMES)  # the contract covers every one
    for name in MINE:
        cls = algorithm_class(name)
        assert issubclass(cls, Recommender) and cls.name == name


def test_importing_the_registry_loads_no_heavy_library():
    import subprocess

    code = ("import sys, genre.algorithms; "
            "print(sorted(m for m in ('torch', 'implicit', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_algorithm_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown algorithm 'easy'; valid algorithms: ") as error:
        make_algorithm("easy")
    assert str(error.value).endswith(", ".join(ALGORITHM_NAMES))


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"'lambda'.*valid parameters: l2, max_items"):
        make_algorithm("ease", **{"lambda": 3})


@pytest.mark.parametrize("name", MINE)
def test_tune_grid_names_real_parameters(name):
    cls = algorithm_class(name)
    assert bool(cls.tune_grid) == bool(cls._param_names()) or name in HAND_SET, f"{name}: tune_grid vs parameters"
    for param, values in cls.tune_grid.items():
        assert param in cls._param_names() and len(values) >= 2
        make_algorithm(name, **{param: values[0]})


# ---------------------------------------------------------------------------- the contract
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
class TestContract:
    def test_scores_are_finite_float32_of_shape_users_by_items(self, case, data, fitted):
        dataset, split, _ = data
        users = split.test_users[:7]
        scores = fitted[case.id].score(users)
        assert scores.shape == (7, dataset.n_items)
        assert scores.dtype == np.float32
        assert np.isfinite(scores).all()
        assert scores.std(axis=1).min() > 0, "every user needs a ranking, not a constant"
        assert fitted[case.id].score(int(users[0])).shape == (1, dataset.n_items)

    def test_scoring_before_fit_says_not_fitted(self, case):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            make_algorithm(case.name, **case.params).score([0])

    def test_clone_and_get_params_round_trip(self, case, fitted):
        model = fitted[case.id]
        clone = model.clone()
        assert type(clone) is type(model)
        assert clone.get_params() == model.get_params() == {
            **make_algorithm(case.name).get_params(), **case.params}
        assert not hasattr(clone, "train_")
        assert make_algorithm(case.name, **model.get_params()).get_params() == model.get_params()

    def test_refitting_gives_identical_scores(self, case, data, fitted):
        users = data[1].test_users[:20]
        again = fit(case, data)
        np.testing.assert_array_equal(again.score(users), fitted[case.id].score(users))

    def test_recommend_excludes_seen_items_best_first(self, case, data, fitted):
        model = fitted[case.id]
        users = data[1].test_users[:30]
        top = model.recommend(users, k=10)
        seen = model.train_[users].toarray() > 0
        assert top.shape == (30, 10)
        assert not np.take_along_axis(seen, top, axis=1).any()
        scores = np.take_along_axis(model.score(users), top, axis=1)
        assert (np.diff(scores, axis=1) <= 0).all()
        np.testing.assert_array_equal(model.recommend(int(users[0]), k=10), top[0])

    def test_progress_reports_stay_within_their_total(self, case, data):
        calls = []
        model = make_algorithm(case.name, **case.params)
        model.fit(data[1].train_matrix(), features_for(case, data[2], data[1].train_matrix()),
                  progress=lambda done, total, msg: calls.append((done, total, msg)))
        assert all(0 <= done <= total and isinstance(msg, str) for done, total, msg in calls)

    def test_validation_ndcg_against_popularity(self, case, data, fitted):
        split = data[1]
        ndcg, baseline = ndcg10(fitted[case.id], split), ndcg10(fitted["popularity"], split)
        assert 0 < ndcg <= 1
        if case.beats_popularity:
            assert ndcg > baseline * 1.1, f"{case.id}: NDCG@10 {ndcg:.4f} vs popularity {baseline:.4f}"


# ---------------------------------------------------------------------------- required features
@pytest.mark.parametrize("name", [n for n in MINE if algorithm_class(n).requires])
def test_missing_required_features_name_the_field(name):
    train = sp.csr_matrix(np.eye(4, dtype=np.float32))
    field_name = algorithm_class(name).requires[0]
    with pytest.raises(ConfigError, match=f"features.{field_name}"):
        make_algorithm(name).fit(train, Features())
