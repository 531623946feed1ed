"""ContentToCF on a real slice of the sample data under the cold-start item split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from genre.algorithms import make_algorithm
from genre.algorithms.content_to_cf import ContentToCF
from genre.data import Dataset
from genre.encoders import make_encoder
from genre.errors import ConfigError, DataError, NotFittedError
from genre.evaluate import evaluate
from genre.features import Features
from genre.split import cold_item_split, validation_split


@pytest.fixture(scope="module")
def cold(sample_dataset: Dataset):
    """Items with ≥ 10 interactions (~2.3k), the cold-item split, its validation carve, TF-IDF vectors."""
    rows = sample_dataset.interactions
    counts = np.bincount(rows["item"], minlength=sample_dataset.n_items)
    kept = rows[counts[rows["item"]] >= 10]
    frame = pd.DataFrame({"user": sample_dataset.user_ids[kept["user"]],
                          "item": sample_dataset.item_ids[kept["item"]],
                          "rating": kept["rating"].to_numpy(), "timestamp": kept["timestamp"].to_numpy()})
    data = Dataset.from_frame(frame, sample_dataset.items[["item_id", "title", "genres"]])
    split = cold_item_split(data.interactions, data.n_users, data.n_items)
    val = validation_split(split, "cold_items")
    vectors = make_encoder("tfidf", ngram_range=(1, 1)).encode(data.item_text(("title", "genres")))
    return split, val, Features(item_vectors=vectors)


@pytest.fixture(scope="module")
def fitted(cold) -> ContentToCF:
    _, val, features = cold
    return ContentToCF().fit(val.train_matrix(), features)


def test_registered_under_its_name() -> None:
    assert isinstance(make_algorithm("content_to_cf", l2=1e-3), ContentToCF)
    assert "l2" in ContentToCF.tune_grid


def test_scores_every_item_finite(cold, fitted: ContentToCF) -> None:
    _, val, _ = cold
    train = val.train_matrix()
    no_history = np.flatnonzero(np.diff(train.indptr) == 0)
    users = np.r_[val.test_users[:5], no_history[:1]]
    scores = fitted.score(users)
    assert scores.shape == (len(users), val.n_items)
    assert scores.dtype == np.float32
    assert np.isfinite(scores).all()


def test_ranks_cold_items_per_user(cold, fitted: ContentToCF) -> None:
    _, val, _ = cold
    cold_items = val.candidate_items
    assert np.asarray(fitted.train_[:, cold_items].sum()) == 0  # they really are cold
    scores = fitted.score(val.test_users[:20])[:, cold_items]
    assert (scores.std(axis=1) > 0).all()
    tops = {tuple(np.argsort(-row)[:10]) for row in scores}
    assert len(tops) > 1  # personalised, not one popularity list


def test_beats_content_similarity_on_validation(cold, fitted: ContentToCF) -> None:
    _, val, features = cold
    baseline = make_algorithm("content").fit(val.train_matrix(), features)
    ours = evaluate(fitted.score, val).means["ndcg@10"]
    theirs = evaluate(baseline.score, val).means["ndcg@10"]
    assert ours > theirs


def test_knn_weight_blends_without_refit(cold) -> None:
    _, val, features = cold
    users = val.test_users[:3]
    model = ContentToCF(epochs=5, knn_weight=1.0).fit(val.train_matrix(), features)
    transfer = model.score(users)
    expected = (model.train_[users] @ model.neighbours_).toarray()
    np.testing.assert_allclose(transfer, expected, rtol=1e-6)
    assert model.neighbours_.diagonal().max() == 0  # an item is never its own neighbour
    mapped = model.set_params(knn_weight=0.0).score(users)
    np.testing.assert_allclose(mapped, model.user_factors_[users] @ model.item_factors_.T
                               + model.item_bias_, rtol=1e-5)
    blended = model.set_params(knn_weight=0.5).score(users)
    assert not np.allclose(blended, mapped) and not np.allclose(blended, transfer)


def test_deterministic(cold) -> None:
    _, val, features = cold
    first = ContentToCF(epochs=15, seed=3).fit(val.train_matrix(), features).score(val.test_users[:10])
    second = ContentToCF(epochs=15, seed=3).fit(val.train_matrix(), features).score(val.test_users[:10])
    np.testing.assert_array_equal(first, second)


def test_learns_better_than_uniform_in_user_batches(cold, fitted: ContentToCF) -> None:
    _, val, features = cold
    uniform = np.log(len(fitted.warm_items_))  # loss of predicting every warm item equally
    assert fitted.loss_ < uniform
    batched = ContentToCF(epochs=20, batch_size=128).fit(val.train_matrix(), features)
    assert batched.loss_ < uniform
    assert np.isfinite(batched.score(val.test_users[:5])).all()


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        ContentToCF().score([0])


def test_rejects_bad_inputs(cold) -> None:
    _, val, features = cold
    train = val.train_matrix()
    with pytest.raises(ConfigError, match="item_vectors"):
        ContentToCF().fit(train, Features())
    with pytest.raises(DataError, match="one row per item"):
        ContentToCF().fit(train, Features(item_vectors=np.ones((3, 4), dtype=np.float32)))
    with pytest.raises(ConfigError, match="knn_weight"):
        ContentToCF(knn_weight=1.5).fit(train, features)
    with pytest.raises(ConfigError, match="factors"):
        ContentToCF(factors=0).fit(train, features)
    bad = sp.csr_matrix(features.item_vectors, copy=True)
    bad.data[0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        ContentToCF(epochs=1).fit(train, Features(item_vectors=bad))
