"""Item-kNN: shrunk cosine values, neighbour truncation and scoring."""

import numpy as np
import pytest
import scipy.sparse as sp

from genre.algorithms.item_knn import ItemKNN
from genre.errors import ConfigError


def _two_pairs() -> sp.csr_matrix:
    """Items 0 and 1 share one user (cosine 1); items 2 and 3 share 9 of their 10 users (cosine 0.9)."""
    rows, cols = [0, 0], [0, 1]
    for user in range(1, 11):
        rows.append(user), cols.append(2)
    for user in list(range(1, 10)) + [11]:
        rows.append(user), cols.append(3)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(12, 4))


def test_shrinkage_discounts_similarities_built_on_few_users():
    plain = ItemKNN(k=3, shrink=0.0).fit(_two_pairs()).similarity_.toarray()
    shrunk = ItemKNN(k=3, shrink=10.0).fit(_two_pairs()).similarity_.toarray()
    np.testing.assert_allclose([plain[0, 1], plain[2, 3]], [1.0, 0.9], rtol=1e-6)
    np.testing.assert_allclose([shrunk[0, 1], shrunk[2, 3]], [1 / (1 + 10), 9 / (10 + 10)], rtol=1e-6)
    assert plain[0, 1] > plain[2, 3] and shrunk[0, 1] < shrunk[2, 3]


def test_each_item_keeps_its_k_most_similar_neighbours():
    rng = np.random.default_rng(1)
    dense = (rng.random((60, 25)) < 0.3).astype(np.float32)
    norms = np.linalg.norm(dense, axis=0)
    cosine = dense.T @ dense / np.outer(norms, norms)
    np.fill_diagonal(cosine, 0.0)
    similarity = ItemKNN(k=4).fit(sp.csr_matrix(dense)).similarity_.toarray()
    for target in range(25):
        kept = np.flatnonzero(similarity[:, target])
        assert len(kept) == 4
        np.testing.assert_allclose(similarity[kept, target], cosine[kept, target], rtol=1e-5)
        assert cosine[kept, target].min() >= np.sort(cosine[:, target])[-4] - 1e-6


def test_a_user_scores_the_neighbours_of_their_history():
    model = ItemKNN(k=3).fit(_two_pairs())
    scores = model.score(0)[0]  # user 0 has items 0 and 1
    np.testing.assert_allclose(scores, model.similarity_[[0, 1]].toarray().sum(axis=0), rtol=1e-6)
    assert scores[2] == scores[3] == 0.0


@pytest.mark.parametrize("params, message", [({"k": 0}, r"item_knn\.k must be an integer in \[1, 10000\]; got 0"),
                                             ({"shrink": -1.0}, r"item_knn\.shrink must be a number in \[0, ")])
def test_invalid_parameters_are_named(params, message):
    with pytest.raises(ConfigError, match=message):
        ItemKNN(**params).fit(_two_pairs())


def _dense_reference(dense: np.ndarray, k: int, shrink: float) -> np.ndarray:
    """Brute force: shrunk cosine of every pair, each target column keeping its k largest."""
    norms = np.linalg.norm(dense, axis=0)
    sims = dense.T @ dense / (np.outer(norms, norms) + shrink)
    np.fill_diagonal(sims, 0.0)
    kept = np.zeros_like(sims)
    for target in range(sims.shape[1]):
        best = np.argsort(-sims[:, target], kind="stable")[:k]
        kept[best, target] = sims[best, target]
    return kept


@pytest.mark.parametrize("shrink", [0.0, 5.0])
def test_similarity_equals_the_brute_force_top_k(shrink):
    rng = np.random.default_rng(7)  # real-valued interactions: no ties at the k-th neighbour
    dense = (rng.random((80, 30)) < 0.3) * rng.random((80, 30)).astype(np.float32)
    k = 6 if shrink == 0 else 14  # with shrink, 2k ≥ n_items - 1 candidates: exact by construction
    similarity = ItemKNN(k=k, shrink=shrink).fit(sp.csr_matrix(dense)).similarity_
    assert similarity.dtype == np.float32 and similarity.diagonal().max() == 0
    np.testing.assert_allclose(similarity.toarray(), _dense_reference(dense, k, shrink), rtol=1e-5, atol=1e-7)


def test_identical_items_keep_k_neighbours_and_never_themselves():
    dense = np.repeat((np.random.default_rng(3).random((40, 5)) < 0.5).astype(np.float32), 3, axis=1)
    similarity = ItemKNN(k=2).fit(sp.csr_matrix(dense)).similarity_  # each item has two exact twins
    assert similarity.diagonal().max() == 0
    assert np.diff(similarity.tocsc().indptr).max() == 2
    np.testing.assert_allclose(similarity.tocsc()[:, 0].toarray().ravel()[[1, 2]], [1.0, 1.0], rtol=1e-6)


def test_threads_do_not_change_the_similarity():
    dense = (np.random.default_rng(4).random((200, 120)) < 0.1).astype(np.float32)
    one = ItemKNN(k=10, num_threads=1).fit(sp.csr_matrix(dense)).similarity_
    two = ItemKNN(k=10, num_threads=2).fit(sp.csr_matrix(dense)).similarity_
    assert (one != two).nnz == 0
