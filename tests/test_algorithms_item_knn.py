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


@pytest.mark.parametrize("params, message", [({"k": 0}, "k must be a positive"),
                                             ({"shrink": -1.0}, "shrink must be >= 0")])
def test_invalid_parameters_are_named(params, message):
    with pytest.raises(ConfigError, match=message):
        ItemKNN(**params).fit(_two_pairs())
