"""EASE against closed forms worked out independently of its implementation."""

import numpy as np
import pytest
import scipy.sparse as sp

from genre.algorithms.ease import EASE
from genre.errors import ConfigError


def test_two_item_weights_match_the_hand_computed_inverse():
    # XᵀX + I = [[3, 1], [1, 2]], inverse = [[2, -1], [-1, 3]] / 5, so B01 = (1/5)/(3/5), B10 = (1/5)/(2/5).
    model = EASE(l2=1.0).fit(sp.csr_matrix([[1, 1], [1, 0]]))
    np.testing.assert_allclose(model.weights_, [[0.0, 1 / 3], [1 / 2, 0.0]], rtol=1e-6)


def test_each_column_is_the_ridge_regression_on_the_other_items():
    # With diag(B) = 0, column j minimises ‖x_j − X b‖² + λ‖b‖² over b with b_j = 0: a ridge fit of
    # item j on every other item, solved here one column at a time in float64.
    rng = np.random.default_rng(0)
    dense = (rng.random((40, 12)) < 0.3).astype(np.float64)
    l2 = 3.0
    weights = EASE(l2=l2).fit(sp.csr_matrix(dense)).weights_
    assert weights.dtype == np.float32
    for j in range(dense.shape[1]):
        others = np.delete(np.arange(dense.shape[1]), j)
        design = dense[:, others]
        coef = np.linalg.solve(design.T @ design + l2 * np.eye(len(others)), design.T @ dense[:, j])
        np.testing.assert_allclose(weights[others, j], coef, rtol=1e-4, atol=1e-6)
        assert weights[j, j] == 0.0


def test_scores_are_history_times_weights():
    train = sp.csr_matrix([[1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 0, 0]], dtype=np.float32)
    model = EASE(l2=2.0).fit(train)
    np.testing.assert_allclose(model.score([0, 2]), train[[0, 2]].toarray() @ model.weights_, rtol=1e-6)


def test_a_catalog_above_max_items_is_refused_with_the_memory_it_would_need():
    train = sp.csr_matrix(np.eye(30, dtype=np.float32))
    with pytest.raises(ConfigError, match=r"30 items, above max_items=20.*GB.*item_knn"):
        EASE(max_items=20).fit(train)


def test_l2_must_be_positive():
    with pytest.raises(ConfigError, match=r"ease\.l2 must be a number in \(0, 1e\+07\]; got 0"):
        EASE(l2=0).fit(sp.csr_matrix(np.eye(3)))


def test_the_gil_free_lapack_call_inverts_in_place_like_scipys_wrappers(monkeypatch):
    from genre.algorithms import _lapack

    assert _lapack._lapacke() is not None  # scipy's bundled OpenBLAS is found here
    rng = np.random.default_rng(0)
    x = rng.random((300, 200)).astype(np.float32)
    spd = x.T @ x + 5 * np.eye(200, dtype=np.float32)
    expected = np.linalg.inv(spd.astype(np.float64))
    upper, info = _lapack.spd_inverse_upper(spd.copy())
    assert info == 0 and np.allclose(np.triu(upper), np.triu(expected), atol=1e-5)
    fortran, info = _lapack.spd_inverse_upper(np.asfortranarray(spd))  # scipy's Gram comes F-ordered
    assert info == 0 and fortran.flags.f_contiguous and np.allclose(np.triu(fortran), np.triu(upper), atol=1e-6)
    monkeypatch.setattr(_lapack, "_lapacke", lambda: None)  # scipy's f2py wrappers instead
    fallback, info = _lapack.spd_inverse_upper(spd.copy())
    assert info == 0 and np.allclose(np.triu(fallback), np.triu(upper), atol=1e-6)
    _, info = _lapack.spd_inverse_upper(-spd)
    assert info > 0


def test_not_positive_definite_is_one_readable_error():
    from genre.algorithms.ease import _spd_inverse
    from genre.errors import GenreError

    with pytest.raises(GenreError, match="raise l2"):
        _spd_inverse(-np.eye(3, dtype=np.float32))
