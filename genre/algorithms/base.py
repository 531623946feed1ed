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
from genre.errors import ConfigError, DataError, FoldInError, NotFittedError, PersistError
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
    #: Why ``fold_in`` cannot score a new history (None: the algorithm implements ``_fold_in``).
    fold_in_reason: ClassVar[str | None] = "it keeps no item-side model to score a new history with"

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

    #: The parameter(s) to lower when ``peak_bytes`` is over the run's memory budget ("": none
    #: does; the memory follows the data, and the message says to switch the algorithm off).
    memory_hint: ClassVar[str] = ""

    # ------------------------------------------------------------------ memory
    def peak_bytes(self, n_users: int, n_items: int, n_interactions: int, n_features: int) -> int:
        """About the most memory ``fit`` (and the learned state it keeps) takes, from this
        instance's parameters and the data's shape; read before fitting (genre.run.fitting).

        Default, for models that stay sparse: a few float32 CSR copies of the training matrix
        (12 bytes per interaction each) and a few per-item vectors. Overridden beside every
        algorithm whose memory grows with its parameters.
        """
        return 3 * 12 * n_interactions + 8 * (n_users + n_items) * 4

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

    # ------------------------------------------------------------------ persistence & fold-in
    def _state(self, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """The learned state (attributes ending in ``_``) as arrays and plain values, for saving.

        Sparse matrices become their CSR arrays (``name@csr.data``, ``.indices``, ``.indptr``,
        ``.shape``); anything else that is not an array or a JSON value is refused: a subclass
        holding such state (a torch module, an index) overrides ``_state`` / ``_restore``.
        """
        self._check_fitted()
        state: dict[str, Any] = {}
        for key, value in vars(self).items():
            if not key.endswith("_") or key.startswith("_") or key in skip:
                continue
            if sp.issparse(value):
                csr = sp.csr_matrix(value)
                state.update({f"{key}@csr.data": csr.data, f"{key}@csr.indices": csr.indices,
                              f"{key}@csr.indptr": csr.indptr, f"{key}@csr.shape": np.asarray(csr.shape)})
            elif isinstance(value, (np.ndarray, np.generic)):
                state[key] = np.asarray(value)
            elif value is None or isinstance(value, (bool, int, float, str, list, dict)):
                state[key] = value
            else:
                raise PersistError(f"{self.name}: its learned {key} ({type(value).__name__}) cannot be "
                                   f"saved safely; switch the algorithm off to save this run")
        return state

    def _restore(self, state: dict[str, Any]) -> "Recommender":
        """Set the learned state ``_state`` gave (no fitting); returns self."""
        sparse: dict[str, dict[str, Any]] = {}
        for key, value in state.items():
            name, marker, part = key.partition("@csr.")
            if marker:
                sparse.setdefault(name, {})[part] = value
            else:
                setattr(self, key, value)
        for name, parts in sparse.items():
            setattr(self, name, sp.csr_matrix((parts["data"], parts["indices"], parts["indptr"]),
                                              shape=tuple(int(n) for n in parts["shape"])))
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "train_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                                 f"with appropriate arguments before using this estimator.")

    def fold_in(self, items: np.ndarray | list[int], timestamps: np.ndarray | None = None) -> np.ndarray:
        """float32 scores over all items for a history the model was not trained on (no refit).

        ``items``: item indices, oldest first (``timestamps``, when given, order them instead).
        An algorithm that cannot do this raises a ``FoldInError`` saying why.
        """
        self._check_fitted()
        items = np.asarray(items, dtype=np.int64).ravel()
        if items.size and (items.min() < 0 or items.max() >= self.n_items_):
            raise DataError(f"item indices must lie in [0, {self.n_items_}); got {items.min()}..{items.max()}")
        if timestamps is not None:
            timestamps = np.asarray(timestamps, dtype=np.float64).ravel()
            if len(timestamps) != len(items):
                raise DataError(f"{len(timestamps)} timestamps for {len(items)} items: give one per item")
            order = np.argsort(timestamps, kind="stable")
            items, timestamps = items[order], timestamps[order]
        scores = np.asarray(self._fold_in(items, timestamps), dtype=np.float32).ravel()
        return np.nan_to_num(scores, nan=0.0, posinf=0.0, neginf=0.0)

    def _fold_in(self, items: np.ndarray, timestamps: np.ndarray | None) -> np.ndarray:
        raise FoldInError(f"{self.name} cannot score a user outside its training data: {self.fold_in_reason}")

    def history_row(self, items: np.ndarray) -> sp.csr_matrix:
        """A 1 × n_items binary CSR row of the (distinct) ``items``, as a training row looks."""
        cols = np.unique(items)
        return sp.csr_matrix((np.ones(len(cols), np.float32), (np.zeros(len(cols), np.int64), cols)),
                             shape=(1, self.n_items_))
