"""Matrix factorisation through the ``implicit`` library: ALS and BPR (CPU).

``implicit`` is imported inside ``fit`` so that listing or configuring algorithms never pays
for it. Its BLAS-heavy solvers oversubscribe the cores (and warn) when OpenBLAS runs its own
thread pool, so training runs under ``threadpoolctl.threadpool_limits(1, "blas")``; set
``OPENBLAS_NUM_THREADS=1`` in the environment as well to silence the import-time check.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from genre.algorithms.base import Progress, Recommender
from genre.constraints import (FACTORS, ITERATIONS, LEARNING_RATE, OPTIONAL_SEED, PENALTY, THREADS, Bound,
                               Constraints)
from genre.features import Features


class _ImplicitMF(Recommender):
    """Shared fit / score for ``implicit`` factor models: score = user_factors @ item_factorsᵀ."""

    def _implicit_class(self) -> type:
        """The ``implicit`` model class (imported here, on first use)."""
        raise NotImplementedError

    def _implicit_params(self) -> dict[str, Any]:
        """Constructor arguments of the ``implicit`` model."""
        raise NotImplementedError

    memory_hint = "factors"

    def peak_bytes(self, n_users: int, n_items: int, n_interactions: int, n_features: int) -> int:
        # dominated by the user and item factors (float32), held by implicit, copied out, and a
        # third time in the solver's per-thread work (ALS) or the scoring block
        factors = int(self.factors) + 1  # implicit pads BPR's factors by one (the item bias)
        return 3 * 4 * factors * (n_users + n_items) + super().peak_bytes(n_users, n_items, n_interactions,
                                                                          n_features)

    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        total = int(self.iterations)

        def callback(iteration: int, elapsed: float, *loss: Any) -> None:
            if progress is not None:
                progress(iteration + 1, total, f"{self.name}: iteration {iteration + 1}/{total}")

        model_class = self._implicit_class()  # import first: the limit covers only BLAS already loaded
        with threadpool_limits(1, "blas"):  # implicit checks the BLAS pool in its constructor
            model = model_class(**self._implicit_params())
            model.fit(train, show_progress=False, callback=callback)
        self.user_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T

    fold_in_reason = None

    def _fold_in(self, items: np.ndarray, timestamps: np.ndarray | None) -> np.ndarray:
        """An inferred user vector: ridge regression of the history on the item factors."""
        factors = self.item_factors_.astype(np.float64)
        gram = factors.T @ factors + float(self.regularization) * np.eye(factors.shape[1])
        vector = np.linalg.solve(gram, factors[np.unique(items)].sum(axis=0))
        return (factors @ vector).astype(np.float32)


class ALS(_ImplicitMF):
    """Implicit-feedback alternating least squares (Hu, Koren & Volinsky, 2008).

    Every unobserved pair is a negative with confidence 1; an observed pair is a positive with
    confidence ``alpha · value`` (``implicit``'s convention), so ``alpha`` sets how much more
    an interaction counts than an absence. Fast and strong on dense-ish data.

    Parameters
    ----------
    factors : int
        Latent dimensions.
    regularization : float
        L2 penalty on the factors (ml-latest-small prefers large values, ~10).
    alpha : float
        Confidence scaling of observed interactions.
    iterations : int
        ALS sweeps.
    num_threads : int
        Solver threads; 0 uses every core.
    random_state : int or None
        Seed of the factor initialisation (None = not reproducible).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> train = sp.random(50, 30, density=0.2, format="csr", random_state=0)
    >>> ALS(factors=8, iterations=3).fit(train).score([0, 1]).shape
    (2, 30)
    """

    name = "als"
    tune_grid = {"factors": [32, 64, 128, 256], "regularization": [3.0, 10.0, 30.0]}
    _parameter_constraints: ClassVar[Constraints] = {
        "factors": FACTORS, "regularization": PENALTY, "alpha": Bound(0.0, 1e6, low_open=True),
        "iterations": ITERATIONS, "num_threads": THREADS, "random_state": OPTIONAL_SEED}

    def __init__(self, factors: int = 128, regularization: float = 10.0, alpha: float = 1.0,
                 iterations: int = 15, num_threads: int = 1, random_state: int | None = 42):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.num_threads = num_threads
        self.random_state = random_state

    def _implicit_class(self) -> type:
        from implicit.cpu.als import AlternatingLeastSquares  # lazy: only ALS/BPR/kNN need implicit

        return AlternatingLeastSquares

    def _implicit_params(self) -> dict[str, Any]:
        return dict(factors=int(self.factors), regularization=float(self.regularization),
                    alpha=float(self.alpha), iterations=int(self.iterations), dtype=np.float32,
                    num_threads=int(self.num_threads), random_state=self.random_state)

    def _fold_in(self, items: np.ndarray, timestamps: np.ndarray | None) -> np.ndarray:
        """implicit's ``recalculate_user`` on the history (the item factors as trained)."""
        vector = self._fold_in_model().recalculate_user(0, self.history_row(items))
        return np.asarray(self.item_factors_ @ np.asarray(vector, dtype=np.float32).ravel())

    def _fold_in_model(self) -> Any:
        """implicit's ALS over the trained item factors, one solver thread, its YᵀY computed once
        (a server folds in many histories; ``recalculate_user`` only reads it)."""
        model = getattr(self, "_fold_in_als", None)
        if model is None or model.item_factors is not self.item_factors_:
            model = self._implicit_class()(**{**self._implicit_params(), "num_threads": 1})
            model.item_factors, model.user_factors = self.item_factors_, self.user_factors_[:1]
            with threadpool_limits(1, "blas"):
                model.YtY  # noqa: B018 - computed and cached by implicit on first access
            self._fold_in_als = model
        return model


class BPR(_ImplicitMF):
    """Bayesian personalised ranking: factors trained so seen items outrank sampled unseen ones.

    Optimises pairwise ranking directly with SGD (Rendle et al., 2009); ``implicit`` adds an
    item bias. With ``num_threads`` > 1 the updates race (Hogwild), so only
    ``num_threads=1`` is exactly reproducible.

    Parameters
    ----------
    factors : int
        Latent dimensions.
    learning_rate : float
        SGD step size (matters most: 0.005 beat implicit's default 0.01 on MovieLens).
    regularization : float
        L2 penalty on the factors.
    iterations : int
        Epochs over the training pairs.
    num_threads : int
        SGD threads; 0 uses every core.
    random_state : int or None
        Seed of initialisation and negative sampling (None = not reproducible).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> train = sp.random(50, 30, density=0.2, format="csr", random_state=0)
    >>> BPR(factors=8, iterations=3).fit(train).score(0).shape
    (1, 30)
    """

    name = "bpr"
    tune_grid = {"learning_rate": [0.0025, 0.005, 0.01, 0.02]}
    _parameter_constraints: ClassVar[Constraints] = {
        "factors": FACTORS, "learning_rate": LEARNING_RATE, "regularization": PENALTY,
        "iterations": ITERATIONS, "num_threads": THREADS, "random_state": OPTIONAL_SEED}

    def __init__(self, factors: int = 64, learning_rate: float = 0.005, regularization: float = 0.01,
                 iterations: int = 100, num_threads: int = 1, random_state: int | None = 42):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.num_threads = num_threads
        self.random_state = random_state

    def _implicit_class(self) -> type:
        from implicit.cpu.bpr import BayesianPersonalizedRanking  # lazy: only ALS/BPR/kNN need implicit

        return BayesianPersonalizedRanking

    def _implicit_params(self) -> dict[str, Any]:
        return dict(factors=int(self.factors), learning_rate=float(self.learning_rate),
                    regularization=float(self.regularization), iterations=int(self.iterations),
                    dtype=np.float32, num_threads=int(self.num_threads), random_state=self.random_state)
