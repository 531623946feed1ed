import numpy as np
import pytest
import scipy.sparse as sp

from genre.algorithms import make_algorithm
from genre.errors import ConfigError
from genre.features import Features


def _data():
    # user 0 takes items 0 → 1 → 2 in time order; user 1 takes 2 → 3; user 2 took 3 only.
    train = sp.csr_matrix(np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 1, 0]], dtype=np.float32))
    times = sp.csr_matrix(np.array([[10, 20, 30, 0, 0], [0, 0, 5, 6, 0], [0, 0, 0, 1, 0]], dtype=np.float64))
    return train, Features(interaction_times=times)


def test_neighbours_in_time_score_and_far_pairs_do_not():
    train, features = _data()
    model = make_algorithm("sequential", window=1, last=1, decay=1.0).fit(train, features)
    scores = model.score([2])[0]           # user 2's latest item is 3; 3 sat next to 2 (user 1)
    assert scores[2] > 0 and scores[0] == scores[1] == scores[4] == 0
    latest = model.score([0])[0]           # user 0's latest is 2: next to 1 (user 0) and 3 (user 1)
    assert latest[1] > 0 and latest[3] > 0 and latest[0] == 0  # 0 is two steps away: outside window 1


def test_recent_items_weigh_more_with_decay():
    train, features = _data()
    model = make_algorithm("sequential", window=2, last=3, decay=0.5).fit(train, features)
    assert model.queries_[0].toarray()[0, :3].tolist() == [0.25, 0.5, 1.0]


@pytest.mark.parametrize("params", [{"window": 0}, {"last": 0}, {"decay": 1.5}])
def test_bad_parameters_name_the_fix(params):
    train, features = _data()
    with pytest.raises(ConfigError, match="sequential"):
        make_algorithm("sequential", **params).fit(train, features)


def test_needs_interaction_times():
    train, _ = _data()
    with pytest.raises(ConfigError, match="interaction_times"):
        make_algorithm("sequential").fit(train, Features())


def test_similarity_is_the_degree_normalized_windowed_cooccurrence():
    rng = np.random.default_rng(0)
    n_users, n_items, window = 30, 12, 3
    dense = (rng.random((n_users, n_items)) < 0.4).astype(np.float32)
    times = sp.csr_matrix(dense * rng.permutation(n_users * n_items).reshape(n_users, n_items).astype(np.float64))
    model = make_algorithm("sequential", window=window).fit(sp.csr_matrix(dense), Features(interaction_times=times))
    expected = np.zeros((n_items, n_items))
    for user in range(n_users):  # distinct timestamps: the time order is unambiguous
        row = times[user].toarray().ravel()
        history = [i for i in np.argsort(row) if row[i] > 0]
        for a in range(len(history)):
            for b in range(a + 1, min(a + window + 1, len(history))):
                expected[history[a], history[b]] += 1.0 / (b - a)
                expected[history[b], history[a]] += 1.0 / (b - a)
    degree = expected.sum(axis=1)
    scale = np.where(degree > 0, 1 / np.sqrt(np.maximum(degree, 1e-12)), 0)
    similarity = model.similarity_
    assert sp.isspmatrix_csr(similarity) and similarity.dtype == np.float32
    assert similarity.indices.dtype == np.int32  # O(nnz) at 4 + 4 bytes a pair
    np.testing.assert_allclose(similarity.toarray(), scale[:, None] * expected * scale[None, :], rtol=1e-5, atol=1e-7)
