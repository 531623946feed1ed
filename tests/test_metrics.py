"""genre.metrics: each metric against examples worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from genre import metrics

# Three users ranked over 6 items; k = 3 looks at the first three columns.
TOP = np.array([[3, 1, 2, 0],    # relevant {1, 4}: one hit at rank 2
                [0, 1, 2, 3],    # relevant {0, 1, 2}: hits at ranks 1, 2, 3
                [5, 4, 3, 2]])   # relevant {0}: no hit
RELEVANT = sp.csr_matrix((np.ones(6), ([0, 0, 1, 1, 1, 2], [1, 4, 0, 1, 2, 0])), shape=(3, 6))
D2, D3 = 1 / np.log2(3), 1 / np.log2(4)  # discounts at ranks 2 and 3


def test_hits() -> None:
    expected = [[False, True, False], [True, True, True], [False, False, False]]
    np.testing.assert_array_equal(metrics.hits_at_k(TOP, RELEVANT, 3), expected)


def test_hits_ignore_duplicates_and_order_of_entries() -> None:
    messy = sp.csr_matrix((np.ones(3), ([0, 0, 0], [4, 1, 4])), shape=(1, 6))
    messy.has_sorted_indices = False
    np.testing.assert_array_equal(metrics.hits_at_k(TOP[:1], messy, 4), [[False, True, False, False]])
    assert metrics.n_relevant(messy).tolist() == [2]


def test_recall_precision_hit_rate() -> None:
    np.testing.assert_allclose(metrics.recall_at_k(TOP, RELEVANT, 3), [1 / 2, 1, 0])
    np.testing.assert_allclose(metrics.precision_at_k(TOP, RELEVANT, 3), [1 / 3, 1, 0])
    np.testing.assert_allclose(metrics.hit_rate_at_k(TOP, RELEVANT, 3), [1, 1, 0])
    np.testing.assert_allclose(metrics.recall_at_k(TOP, RELEVANT, 1), [0, 1 / 3, 0])


def test_ndcg() -> None:
    # user 0: DCG = 1/log2(3); IDCG over min(2, 3) = 2 hits = 1 + 1/log2(3)
    np.testing.assert_allclose(metrics.ndcg_at_k(TOP, RELEVANT, 3), [D2 / (1 + D2), 1, 0])
    # k = 2 for user 1: IDCG over min(3, 2) = 2 → perfect
    np.testing.assert_allclose(metrics.ndcg_at_k(TOP, RELEVANT, 2), [D2 / (1 + D2), 1, 0])


def test_mrr_and_map() -> None:
    np.testing.assert_allclose(metrics.mrr_at_k(TOP, RELEVANT, 3), [1 / 2, 1, 0])
    # user 0: precision@2 = 1/2 at its one hit, divided by min(|rel| = 2, k = 3) = 2
    np.testing.assert_allclose(metrics.map_at_k(TOP, RELEVANT, 3), [1 / 4, 1, 0])
    # k = 4 adds no hit: user 0's rank-4 item 0 is not relevant to it, user 2 never ranks item 0
    np.testing.assert_allclose(metrics.map_at_k(TOP, RELEVANT, 4), [1 / 4, 1, 0])


def test_user_without_relevant_items_scores_zero() -> None:
    empty = sp.csr_matrix((1, 6))
    for function in (metrics.recall_at_k, metrics.ndcg_at_k, metrics.map_at_k, metrics.mrr_at_k):
        assert function(TOP[:1], empty, 3).tolist() == [0.0]


def test_auc_excludes_seen_and_counts_ties_half() -> None:
    scores = np.array([[0.9, 0.5, 0.5, 0.1, 0.3],
                       [0.9, 0.5, 0.5, 0.1, 0.3]])
    relevant = sp.csr_matrix(np.array([[0, 1, 0, 0, 0], [0, 0, 0, 0, 0]]))
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]))
    # positive 0.5 vs negatives 0.5 (tie → ½), 0.1, 0.3 → 2.5 / 3; the seen 0.9 is ignored
    result = metrics.auc(scores, relevant, seen)
    assert result[0] == pytest.approx(2.5 / 3)
    assert np.isnan(result[1])  # no positive: undefined
    assert metrics.auc(scores[:1], relevant[:1])[0] == pytest.approx(2.5 / 4)


def test_auc_matches_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=(4, 30)).astype(np.float32)  # many ties
    relevant = sp.csr_matrix(rng.random((4, 30)) < 0.2)
    seen = sp.csr_matrix(rng.random((4, 30)) < 0.2)
    seen = seen - seen.multiply(relevant)  # keep some positives unseen
    for r, value in enumerate(metrics.auc(scores, relevant, seen)):
        keep = ~seen[r].toarray().ravel().astype(bool)
        pos = scores[r][keep & relevant[r].toarray().ravel().astype(bool)]
        neg = scores[r][keep & ~relevant[r].toarray().ravel().astype(bool)]
        pairs = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        assert value == pytest.approx(pairs.mean())


def test_coverage() -> None:
    assert metrics.coverage_at_k(np.array([[0, 1, 5], [1, 2, 6]]), 10, 2) == pytest.approx(3 / 10)


@pytest.mark.parametrize("sparse", [False, True])
def test_intra_list_diversity(sparse: bool) -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [0.0, 0.0]])
    given = sp.csr_matrix(vectors) if sparse else vectors
    # user 0: cos(0,1) = 0, cos(0,2) = cos(1,2) = 1/√2 → mean cosine √2/3
    # user 1: two copies of the same direction → 0; user 2: a zero vector has cosine 0 → 1
    top = np.array([[0, 1, 2], [2, 2, 0], [3, 0, 1]])
    result = metrics.intra_list_diversity_at_k(top, given, 3)
    np.testing.assert_allclose(result, [1 - np.sqrt(2) / 3, 1 - (1 + 2 / np.sqrt(2)) / 3, 1.0])
    np.testing.assert_allclose(metrics.intra_list_diversity_at_k(top, given, 2), [1.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(metrics.intra_list_diversity_at_k(top, given, 1), [0.0, 0.0, 0.0])


def test_novelty() -> None:
    # counts 3, 1, 0, 0 → smoothed shares 4/8, 2/8, 1/8, 1/8 → self-information 1, 2, 3, 3 bits
    popularity = np.array([3, 1, 0, 0])
    np.testing.assert_allclose(metrics.novelty_at_k(np.array([[0, 1], [2, 3]]), popularity, 2), [1.5, 3.0])


def test_popularity_bias() -> None:
    popularity = np.array([4, 2, 1, 0])
    top = np.array([[0, 1, 3], [2, 3, 0]])
    np.testing.assert_allclose(metrics.popularity_bias_at_k(top, popularity, 2), [0.75, 0.125])
    np.testing.assert_allclose(metrics.popularity_bias_at_k(top, np.zeros(4), 2), [0.0, 0.0])
