"""ProfileRecommender: the Recommender contract, blending, and users without profile or history."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from genre.algorithms import make_algorithm
from genre.algorithms.profile import ProfileRecommender
from genre.errors import ConfigError, DataError, NotFittedError
from genre.features import Features


@pytest.fixture
def setup() -> tuple[sp.csr_matrix, Features]:
    """4 users × 6 items in 3-d; user 2 has no profile, user 3 no history."""
    rng = np.random.default_rng(0)
    items = rng.normal(size=(6, 3)).astype(np.float32)
    profiles = rng.normal(size=(4, 3)).astype(np.float32)
    profiles[2] = 0.0
    train = sp.csr_matrix(np.array([[1, 1, 0, 0, 0, 0],
                                    [0, 0, 1, 0, 0, 0],
                                    [0, 0, 0, 1, 1, 0],
                                    [0, 0, 0, 0, 0, 0]], dtype=np.float32))
    return train, Features(item_vectors=items, user_vectors=profiles)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return a @ b.T


def test_contract_shapes_dtype_no_nan_and_registry(setup):
    train, features = setup
    model = make_algorithm("profile", history_weight=0.3)
    assert isinstance(model, ProfileRecommender) and model.requires == ("item_vectors", "user_vectors")
    assert model.fit(train, features) is model
    scores = model.score([0, 1, 2, 3])
    assert scores.shape == (4, 6) and scores.dtype == np.float32
    assert np.isfinite(scores).all()
    top = model.recommend([0, 3], k=3)
    assert top.shape == (2, 3) and not set(top[0]) & {0, 1}  # seen items excluded
    assert model.recommend(1, k=2).shape == (2,)
    clone = model.clone()
    assert clone.get_params() == {"history_weight": 0.3} and not hasattr(clone, "item_vectors_")


def test_not_fitted_and_missing_features(setup):
    train, features = setup
    with pytest.raises(NotFittedError, match="not fitted yet"):
        ProfileRecommender().score([0])
    with pytest.raises(ConfigError, match="needs features.user_vectors"):
        ProfileRecommender().fit(train, Features(item_vectors=features.item_vectors))


@pytest.mark.parametrize("weight", [-0.1, 1.5, "half", True])
def test_history_weight_is_validated(setup, weight):
    train, features = setup
    with pytest.raises(ConfigError, match="history_weight must be a number in \\[0, 1\\]"):
        ProfileRecommender(history_weight=weight).fit(train, features)


def test_vectors_in_another_space_are_rejected(setup):
    train, features = setup
    wrong = Features(item_vectors=features.item_vectors, user_vectors=np.ones((4, 5), np.float32))
    with pytest.raises(DataError, match=r"user_vectors must be \(n_users, d\) = \(4, 3\).*got shape \(4, 5\)"):
        ProfileRecommender().fit(train, wrong)
    short = Features(item_vectors=features.item_vectors[:5], user_vectors=features.user_vectors)
    with pytest.raises(DataError, match="one row per item \\(6\\)"):
        ProfileRecommender().fit(train, short)


def test_profile_only_history_only_and_blend(setup):
    train, features = setup
    items, profiles = features.item_vectors, features.user_vectors
    pure = ProfileRecommender(history_weight=0.0).fit(train, features).score([0, 1, 3])
    np.testing.assert_allclose(pure, cosine(profiles[[0, 1, 3]], items), atol=1e-5)

    history = ProfileRecommender(history_weight=1.0).fit(train, features).score([0])
    mean = items[[0, 1]] / np.linalg.norm(items[[0, 1]], axis=1, keepdims=True)
    np.testing.assert_allclose(history[0], cosine(mean.mean(axis=0), items), atol=1e-5)

    half = ProfileRecommender(history_weight=0.5).fit(train, features).score([0])[0]
    p = profiles[0] / np.linalg.norm(profiles[0])
    h = mean.sum(axis=0) / np.linalg.norm(mean.sum(axis=0))
    np.testing.assert_allclose(half, cosine(0.5 * p + 0.5 * h, items), atol=1e-5)


def test_missing_profile_falls_back_to_history_and_empty_user_scores_zero(setup):
    train, features = setup
    items = features.item_vectors
    model = ProfileRecommender(history_weight=0.0).fit(train, features)
    mean = items[[3, 4]] / np.linalg.norm(items[[3, 4]], axis=1, keepdims=True)
    np.testing.assert_allclose(model.score(2)[0], cosine(mean.mean(axis=0), items), atol=1e-5)
    nothing = Features(item_vectors=items, user_vectors=np.zeros((4, 3), np.float32))
    empty = ProfileRecommender(history_weight=0.5).fit(train, nothing).score([3])
    assert np.array_equal(empty, np.zeros((1, 6), np.float32))


def test_sparse_item_vectors_and_nan_profiles(setup):
    train, features = setup
    profiles = features.user_vectors.copy()
    profiles[1, 0] = np.nan
    dense = ProfileRecommender(history_weight=0.4).fit(
        train, Features(item_vectors=features.item_vectors, user_vectors=profiles)).score([0, 1, 2, 3])
    sparse = ProfileRecommender(history_weight=0.4).fit(
        train, Features(item_vectors=sp.csr_matrix(features.item_vectors),
                        user_vectors=profiles)).score([0, 1, 2, 3])
    assert np.isfinite(dense).all()
    np.testing.assert_allclose(sparse, dense, atol=1e-5)
