"""Content-based: profile weighting, sparse and dense item vectors, feature checks."""

import numpy as np
import pytest
import scipy.sparse as sp

from genre.algorithms.content import ContentBased
from genre.errors import ConfigError, DataError
from genre.features import Features

DAY = 86400
# Items 1 and 3 resemble items 0 and 2 equally; the user's history is item 0 (old, rated 5)
# and item 2 (recent, rated 1).
VECTORS = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
TRAIN = sp.csr_matrix(np.array([[1, 0, 1, 0]], dtype=np.float32))
FEATURES = Features(item_vectors=VECTORS,
                    interaction_times=sp.csr_matrix(np.array([[DAY, 0, 1000 * DAY, 0]], dtype=np.float64)),
                    interaction_ratings=sp.csr_matrix(np.array([[5.0, 0, 1.0, 0]], dtype=np.float32)))


def _scores(**params) -> np.ndarray:
    return ContentBased(**params).fit(TRAIN, FEATURES).score(0)[0]


def test_uniform_profile_treats_both_history_items_alike():
    scores = _scores(weighting="uniform")
    assert scores[1] == pytest.approx(scores[3])


def test_recency_favours_what_resembles_the_latest_interaction():
    scores = _scores(weighting="recency", half_life_days=30.0)
    assert scores[3] > scores[1]
    # Item 0 is 999 days older than item 2: weight 0.5 ** (999 / 30), so the profile is ~item 2.
    assert scores[2] == pytest.approx(1.0, abs=1e-6)


def test_rating_favours_what_resembles_the_best_rated_item():
    scores = _scores(weighting="rating")
    assert scores[1] > scores[3]
    profile = np.array([5.0, 1.0]) / np.linalg.norm([5.0, 1.0])
    assert scores[0] == pytest.approx(profile[0], rel=1e-5)


def test_sparse_and_dense_item_vectors_give_the_same_scores():
    vectors = sp.random(30, 200, density=0.05, format="csr", random_state=3, dtype=np.float32)
    keep = np.ones(30, dtype=np.float32)
    keep[5] = 0  # an item without content scores zero, not NaN
    vectors = sp.csr_matrix(sp.diags(keep) @ vectors)
    train = sp.random(8, 30, density=0.2, format="csr", random_state=4, dtype=np.float32)
    train.data[:] = 1
    sparse = ContentBased().fit(train, Features(item_vectors=vectors)).score(np.arange(8))
    dense = ContentBased().fit(train, Features(item_vectors=vectors.toarray())).score(np.arange(8))
    np.testing.assert_allclose(sparse, dense, rtol=1e-5, atol=1e-6)
    assert (sparse[:, 5] == 0).all() and np.isfinite(sparse).all()


def test_recency_without_interaction_times_names_the_missing_feature():
    with pytest.raises(ConfigError, match="features.interaction_times.*weighting='uniform'"):
        ContentBased(weighting="recency").fit(TRAIN, Features(item_vectors=VECTORS))


def test_unknown_weighting_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="content.weighting must be one of 'uniform', 'recency', 'rating'; got 'latest'"):
        ContentBased(weighting="latest").fit(TRAIN, FEATURES)


def test_item_vectors_of_another_catalog_are_refused():
    with pytest.raises(DataError, match=r"one row per item \(4\), got shape \(3, 2\)"):
        ContentBased().fit(TRAIN, Features(item_vectors=VECTORS[:3]))
