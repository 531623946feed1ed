"""TwoTower on a real slice of the bundled MovieLens sample (150 users, a few epochs each)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from genre.algorithms import two_tower as tt
from genre.algorithms.two_tower import TwoTower
from genre.data.dataset import Dataset
from genre.errors import ConfigError, DataError, NotFittedError
from genre.features import Features
from genre.fusion import top_k
from genre.metrics import ndcg_at_k

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
FAST = {"threads": 1}  # one thread: the CI machine's cores are shared


@pytest.fixture(scope="module")
def data() -> tuple[Dataset, sp.csr_matrix, Features]:
    ratings = pd.read_csv(SAMPLE / "ratings.csv").rename(columns={"userId": "user", "movieId": "item"})
    movies = pd.read_csv(SAMPLE / "movies.csv").rename(columns={"movieId": "item_id"})
    dataset = Dataset.from_frame(ratings[ratings["user"] <= 150], movies)
    return dataset, dataset.matrix(), Features(interaction_times=dataset.matrix(values="timestamp"))


@pytest.fixture(scope="module")
def fitted(data):
    _, train, features = data
    calls: list[tuple[int, int, str]] = []
    model = TwoTower(epochs=3, patience=3, seed=0, **FAST)
    model.fit(train, features, progress=lambda done, total, message: calls.append((done, total, message)))
    return model, calls


def _internal_validation(train: sp.csr_matrix, features: Features, seed: int) -> "tt._Validation":
    """The validation split ``fit`` carves (same seed, same order of random draws)."""
    starts, sequence = tt._user_sequences(train, features.interaction_times, np.random.default_rng(seed))
    (sub_starts, sub_sequence), (val_starts, val_sequence) = tt._hold_out_latest(starts, sequence, 0.1)
    return tt._Validation(sub_starts, sub_sequence, val_starts, val_sequence, 50, train.shape[1])


def test_scores_are_finite_float32_of_the_right_shape(data, fitted):
    dataset, train, _ = data
    model, _ = fitted
    scores = model.score(np.arange(dataset.n_users))
    assert scores.shape == (dataset.n_users, dataset.n_items)
    assert scores.dtype == np.float32 and np.isfinite(scores).all()
    assert model.item_vectors_.shape == (dataset.n_items, 64) and model.item_vectors_.dtype == np.float32
    top = model.recommend(np.arange(10), k=10)
    assert not train[np.arange(10)[:, None], top].toarray().any()  # seen items excluded


def test_progress_is_reported_once_per_epoch(fitted):
    _, calls = fitted
    assert [(done, total) for done, total, _ in calls] == [(1, 3), (2, 3), (3, 3)]
    for done, _, message in calls:
        assert re.fullmatch(rf"epoch {done}: loss \d+\.\d+ val NDCG@10 \d\.\d+", message)


def test_beats_popularity_on_its_validation(data, fitted):
    _, train, features = data
    model, _ = fitted
    validation = _internal_validation(train, features, seed=0)
    popularity = np.bincount(validation.seen.indices, minlength=train.shape[1]).astype(np.float32)
    pop_top = top_k(np.tile(popularity, (validation.n_users, 1)), 10, validation.seen)
    pop_ndcg = ndcg_at_k(pop_top, validation.relevant, 10).mean()
    val = [row["val_ndcg"] for row in model.epoch_stats_]
    assert max(val[1:]) > val[0]  # it learns after the first epoch
    assert max(val) > pop_ndcg


def test_same_seed_gives_identical_scores(data):
    _, train, features = data
    users = np.arange(20)
    first = TwoTower(epochs=1, seed=3, **FAST).fit(train, features).score(users)
    again = TwoTower(epochs=1, seed=3, **FAST).fit(train, features).score(users)
    other = TwoTower(epochs=1, seed=4, **FAST).fit(train, features).score(users)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


def test_early_stopping_stops_and_restores_the_best_epoch(data):
    _, train, features = data
    model = TwoTower(epochs=30, patience=1, seed=0, **FAST).fit(train, features)
    val = [row["val_ndcg"] for row in model.epoch_stats_]
    assert len(val) < 30
    assert len(val) == model.best_epoch_ + 1  # stopped one epoch (patience) after the best
    with tt._torch_session(0, 1):
        restored = _internal_validation(train, features, seed=0).ndcg(model.net_)
    assert restored == pytest.approx(max(val))


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_content_vectors_feed_the_item_tower(data, fitted, kind):
    dataset, train, features = data
    if kind == "dense":
        vectors, expected_dims = dataset.genre_matrix()[0].toarray(), len(dataset.genre_matrix()[1])
    else:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectors = TfidfVectorizer().fit_transform(dataset.item_text(("title", "genres")))
        assert vectors.shape[1] > tt.MAX_CONTENT_DIMS
        expected_dims = tt.MAX_CONTENT_DIMS
    with_content = Features(item_vectors=vectors, interaction_times=features.interaction_times)
    model = TwoTower(epochs=1, seed=0, **FAST).fit(train, with_content)
    id_only = TwoTower(epochs=1, seed=0, **FAST).fit(train, features)
    assert model.content_dims_ == expected_dims and id_only.content_dims_ == 0
    scores = model.score(np.arange(5))
    assert np.isfinite(scores).all() and not np.allclose(scores, id_only.score(np.arange(5)))


def test_without_times_or_validation_trains_every_epoch(data):
    _, train, _ = data
    messages: list[str] = []
    model = TwoTower(epochs=2, validation_fraction=0.0, **FAST).fit(
        train, progress=lambda done, total, message: messages.append(message))
    assert len(model.epoch_stats_) == 2 and model.best_epoch_ == 2
    assert all("NDCG" not in m for m in messages)
    assert np.isfinite(model.score([0, 1])).all()


def test_bpr_loss_with_mean_pooling(data):
    _, train, features = data
    model = TwoTower(loss="bpr", pooling="mean", epochs=2, **FAST).fit(train, features)
    losses = [row["loss"] for row in model.epoch_stats_]
    assert losses[1] < losses[0]
    assert np.isfinite(model.score([0])).all()


def test_history_keeps_the_most_recent_items(data, fitted):
    dataset, _, _ = data
    model, _ = fitted
    frame = dataset.interactions
    for user in range(5):
        rows = frame[frame["user"] == user].sort_values("timestamp")
        newest = set(rows["item"].iloc[-10:]) if rows["timestamp"].iloc[-11] < rows["timestamp"].iloc[-10] else None
        if newest is not None:
            assert set(model.user_history_[user, -10:]) == newest
    short = int(np.argmin(np.bincount(frame["user"])))
    n_short = int((frame["user"] == short).sum())
    assert (model.user_history_[short, : 50 - n_short] == dataset.n_items).all()  # left padding


def test_errors_name_the_problem(data):
    _, train, _ = data
    with pytest.raises(NotFittedError, match="not fitted"):
        TwoTower().score([0])
    with pytest.raises(ConfigError, match="pooling"):
        TwoTower(pooling="max").fit(train)
    with pytest.raises(ConfigError, match="validation_fraction"):
        TwoTower(validation_fraction=1.5).fit(train)
    with pytest.raises(DataError, match="one row per item"):
        TwoTower(**FAST).fit(train, Features(item_vectors=np.ones((3, 4), dtype=np.float32)))


def test_torch_is_imported_lazily_and_global_state_restored(data):
    code = "import sys, genre.algorithms.two_tower; print('torch' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "False"
    import torch

    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    TwoTower(epochs=1, threads=1).fit(data[1])
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before
