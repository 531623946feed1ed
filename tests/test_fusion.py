import numpy as np
import pytest
import scipy.sparse as sp

from genre import fusion


def test_top_k_breaks_ties_by_lower_index_and_excludes_seen():
    scores = np.array([[0.5, 0.9, 0.5, 0.9, 0.1]], dtype=np.float32)
    assert fusion.top_k(scores, 3).tolist() == [[1, 3, 0]]
    seen = sp.csr_matrix(np.array([[0, 1, 0, 0, 0]]))
    assert fusion.top_k(scores, 3, seen).tolist() == [[3, 0, 2]]


def test_top_k_matches_stable_argsort_on_random_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(50, 40)).astype(np.float32)  # many ties
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :7]
    assert np.array_equal(fusion.top_k(scores, 7), expected)


@pytest.mark.parametrize("k", [1, 5, 99, 100, 101])
def test_top_k_is_exact_on_mostly_zero_rows_with_seen_items(k):
    """A neighbourhood model's rows: a few positive scores, a plateau of zeros crossing the cut."""
    rng = np.random.default_rng(k)
    scores = np.where(rng.random((30, 2_000)) < 0.02, rng.integers(1, 5, (30, 2_000)), 0).astype(np.float32)
    scores[3] = 0.0                                               # all tied
    seen = sp.random(30, 2_000, density=0.01, format="csr", random_state=k)
    masked = np.where(seen.toarray() > 0, -np.inf, scores)
    expected = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    assert np.array_equal(fusion.top_k(scores, k, seen), expected)
    assert np.array_equal(fusion.top_k(scores[:, :k], k), np.argsort(-scores[:, :k], axis=1, kind="stable"))


@pytest.mark.parametrize("method", ["minmax", "zscore", "rank", "none"])
def test_normalization_keeps_each_users_order(method):
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(5, 30)).astype(np.float32) * 100
    normalized = fusion.normalize(scores, method)
    assert np.array_equal(fusion.top_k(normalized, 30), fusion.top_k(scores, 30))


def test_minmax_spans_unit_interval_over_unseen_items():
    scores = np.array([[10.0, 2.0, 4.0, 6.0]], dtype=np.float32)
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0]]))
    out = fusion.normalize(scores, "minmax", seen)
    assert out[0, 1:].min() == 0.0 and out[0, 1:].max() == 1.0
    zs = fusion.normalize(scores, "zscore", seen)[0, 1:]
    assert abs(zs.mean()) < 1e-6 and abs(zs.std() - 1) < 1e-5


def test_one_hot_weights_reproduce_a_single_models_ranking():
    rng = np.random.default_rng(2)
    blocks = {"a": fusion.normalize(rng.random((8, 20))), "b": fusion.normalize(rng.random((8, 20)))}
    fused = fusion.fuse(blocks, {"a": 0.0, "b": 1.0})
    assert np.array_equal(fusion.top_k(fused, 10), fusion.top_k(blocks["b"], 10))


def test_contributions_sum_to_the_fused_score():
    rng = np.random.default_rng(3)
    blocks = {"a": rng.random((3, 9)).astype(np.float32), "b": rng.random((3, 9)).astype(np.float32)}
    weights = {"a": 0.3, "b": 0.7}
    total = sum(fusion.contributions(blocks, weights).values())
    assert np.allclose(total, fusion.fuse(blocks, weights), atol=1e-6)


def test_softmax_temperature_keeps_order_and_sums_to_one():
    scores = np.array([[0.1, 0.7, 0.3]], dtype=np.float32)
    soft = fusion.soften(scores, 0.5)
    assert np.isclose(soft.sum(), 1.0) and fusion.top_k(soft, 3).tolist() == [[1, 2, 0]]
    with pytest.raises(ValueError):
        fusion.soften(scores, 0)
