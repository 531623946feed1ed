"""The one Recommender base every algorithm extends (scikit-learn estimator conventions).

Subclasses store keyword hyper-parameters unchanged in ``__init__`` and declare what each
accepts beside it (``_parameter_constraints``), learn in ``_fit`` (learned state in attributes
ending in ``_``; only checks that depend on the data or on several parameters at once) and
implement ``_score``. The base gives ``fit`` parameter and input checks, ``score`` checks,
``recommend``, ``get_params`` / ``set_params`` and ``clone``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, ClassVar

import numpy as np
import scipy.sparse as sp

from genre.constraints import Constraints
from genre.errors import ConfigError, DataError, NotFittedError
from genre.features import Features
from genre.fusion import top_k

#: progress(done, total, message) — the app wires it to st.progress, the CLI to logging.
Progress = Callable[[int, int, str], None]


class Recommender:
    """Base of all recommenders: ``fit(train, features) -> self``; ``score(users) -> (n, n_items)``."""

    #: Short machine name used in configs and the registry (e.g. "ease").
    name: str = "base"
    #: Which ``Features`` fields the algorithm needs (checked by ``fit``).
    requires: tuple[str, ...] = ()
    #: The key hyper-parameter(s) and the values worth trying, for tuning on validation only.
    tune_grid: ClassVar[dict[str, list]] = {}
    #: What each ``__init__`` parameter accepts; every parameter has an entry (tests/test_bounds.py).
    _parameter_constraints: ClassVar[Constraints] = {}

    # ------------------------------------------------------------------ params
    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values()
                if p.name != "self" and p.kind == p.KEYWORD_ONLY or
                (p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "Recommender":
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ConfigError(f"{type(self).__name__} has no parameter {key!r}; "
                                  f"valid parameters: {', '.join(valid) or '(none)'}")
            setattr(self, key, value)
        return self

    def clone(self) -> "Recommender":
        """A new unfitted instance with the same hyper-parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ fit / score
    def fit(self, train: sp.csr_matrix, features: Features | None = None,
            progress: Progress | None = None) -> "Recommender":
        """Learn from a user × item training matrix (nonzero = interaction).

        The hyper-parameters are checked here against ``_parameter_constraints``: every way to
        an algorithm (a config, ``make_algorithm``, the class itself, ``set_params``, ``clone``)
        passes through ``fit``, so the Python API is guarded as well as the config.
        """
        for param, constraint in self._parameter_constraints.items():
            constraint.check(getattr(self, param), f"{self.name}.{param}")
        if not sp.issparse(train):
            raise DataError(f"{type(self).__name__}.fit expects a scipy.sparse user × item matrix, "
                            f"got {type(train).__name__}")
        train = sp.csr_matrix(train, dtype=np.float32)
        if train.nnz == 0:
            raise DataError(f"{type(self).__name__}.fit got a training matrix with no interactions")
        for needed in self.requires:
            if features is None or getattr(features, needed) is None:
                raise ConfigError(f"{self.name} needs features.{needed}; pick an encoder / "
                                  f"feature for it or switch the algorithm off")
        self.n_users_, self.n_items_ = train.shape
        self.train_ = train
        self._fit(train, features or Features(), progress)
        return self

    def _fit(self, train: sp.csr_matrix, features: Features, progress: Progress | None) -> None:
        raise NotImplementedError

    def score(self, user_indices: np.ndarray | list[int] | int) -> np.ndarray:
        """float32 scores (len(users), n_items), a new array the caller may change; higher is better.
        Seen items are not masked."""
        if not hasattr(self, "train_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                                 f"with appropriate arguments before using this estimator.")
        users = np.atleast_1d(np.asarray(user_indices, dtype=np.int64))
        if users.size and (users.min() < 0 or users.max() >= self.n_users_):
            raise DataError(f"user indices must lie in [0, {self.n_users_}); got {users.min()}..{users.max()}")
        scores = np.asarray(self._score(users), dtype=np.float32)
        if np.isfinite(scores).all():  # one read-only pass; the copy only when something is off
            return scores
        return np.nan_to_num(scores, nan=0.0, posinf=0.0, neginf=0.0)

    def _score(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def recommend(self, user_indices: np.ndarray | list[int] | int, k: int = 10,
                  exclude_seen: bool = True) -> np.ndarray:
        """Top-k item indices per user (ties by lower item index); one user → 1-D array."""

        scalar = np.ndim(user_indices) == 0
        users = np.atleast_1d(np.asarray(user_indices, dtype=np.int64))
        scores = self.score(users)
        seen = self.train_[users] if exclude_seen else None
        top = top_k(scores, k, seen)
        return top[0] if scalar else top
