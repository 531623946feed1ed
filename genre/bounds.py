"""One table of typed bounds for every numeric parameter a config can set.

Why: a hosted app takes numbers from strangers. ``factors: 1e9`` asks ALS for 224 GiB and
``window: 1e12`` exhausts memory long before any algorithm could say why, so every number is
checked against a range before anything runs. The ranges are generous (well beyond the
useful values) and the app reads the same table for its widget limits.

Sections are algorithm names (``"als"``, ``"ease"`` ...), ``"encoder:<name>"`` for encoder
parameters, and ``"config"``, ``"split"``, ``"fusion"``, ``"tuning"``, ``"evaluation"``,
``"weights"`` for the rest of a run config.

Examples
--------
>>> bound = bounds_for("als", "factors")
>>> bound.low, bound.high, bound.kind.__name__
(1, 1024, 'int')
>>> check(64, bound, "als.factors")
64
>>> check(10**9, bound, "als.factors")
Traceback (most recent call last):
...
genre.errors.ConfigError: als.factors must be an integer in [1, 1024]; got 1000000000
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from genre.errors import ConfigError


@dataclass(frozen=True)
class Bound:
    """Allowed values of one numeric parameter: ``kind`` in [low, high] (ends open when flagged).

    ``none_ok``: the parameter also accepts None (e.g. "no seed", "no cap").
    """

    low: float
    high: float
    kind: type = float
    low_open: bool = False
    high_open: bool = False
    none_ok: bool = False

    def describe(self) -> str:
        """``an integer in [1, 1024]`` / ``a number in (0, 1)``."""
        what = "an integer" if self.kind is int else "a number"
        return (f"{what} in {'(' if self.low_open else '['}{_fmt(self.low)}, "
                f"{_fmt(self.high)}{')' if self.high_open else ']'}")


def _fmt(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


_SEED = Bound(0, 2**32 - 1, int)
_OPTIONAL_SEED = Bound(0, 2**32 - 1, int, none_ok=True)
_THREADS = Bound(1, 64, int)
_BATCH = Bound(1, 65_536, int)
_FACTORS = Bound(1, 1024, int)
_ITERATIONS = Bound(1, 10_000, int)
_PENALTY = Bound(0.0, 1e6)
_LEARNING_RATE = Bound(0.0, 10.0, low_open=True)
_FRACTION_OPEN = Bound(0.0, 1.0, low_open=True, high_open=True)
_UNIT = Bound(0.0, 1.0)
_WEIGHT = Bound(0.0, 1e6)

#: section → parameter → bound. Tests check every numeric parameter of every algorithm is here.
BOUNDS: dict[str, dict[str, Bound]] = {
    "popularity": {},
    "item_knn": {"k": Bound(1, 10_000, int), "shrink": _PENALTY, "num_threads": Bound(0, 64, int)},  # 0 = every core
    "sequential": {"window": Bound(1, 1000, int), "last": Bound(1, 1000, int),
                   "decay": Bound(0.0, 1.0, low_open=True), "seed": _SEED},
    "ease": {"l2": Bound(0.0, 1e7, low_open=True), "max_items": Bound(1, 50_000, int)},
    "als": {"factors": _FACTORS, "regularization": _PENALTY, "alpha": Bound(0.0, 1e6, low_open=True),
            "iterations": _ITERATIONS, "num_threads": _THREADS, "random_state": _OPTIONAL_SEED},
    "bpr": {"factors": _FACTORS, "learning_rate": _LEARNING_RATE, "regularization": _PENALTY,
            "iterations": _ITERATIONS, "num_threads": _THREADS, "random_state": _OPTIONAL_SEED},
    "content": {"half_life_days": Bound(0.0, 1e6, low_open=True),
                "ann_min_items": Bound(1, 10**9, int, none_ok=True), "ann_candidates": Bound(1, 100_000, int)},
    "genre_pref": {"alpha": _PENALTY, "popularity_weight": _PENALTY},
    "two_tower": {"dim": _FACTORS, "hidden": Bound(1, 4096, int), "epochs": Bound(1, 1000, int),
                  "batch_size": _BATCH, "lr": _LEARNING_RATE, "weight_decay": Bound(0.0, 10.0),
                  "n_negatives": Bound(0, 10_000, int), "max_history": Bound(1, 1000, int),
                  "patience": Bound(1, 1000, int), "validation_fraction": Bound(0.0, 1.0, high_open=True),
                  "seed": _SEED, "threads": _THREADS},
    "content_to_cf": {"factors": _FACTORS, "l2": _PENALTY, "epochs": _ITERATIONS,
                      "learning_rate": _LEARNING_RATE, "neighbours": Bound(1, 10_000, int),
                      "knn_weight": _UNIT, "batch_size": _BATCH, "seed": _SEED},
    "profile": {"history_weight": _UNIT},
    "encoder:minilm": {"batch_size": Bound(1, 4096, int)},
    "encoder:sentence-transformers": {"batch_size": Bound(1, 4096, int)},
    "encoder:transformers": {"batch_size": Bound(1, 4096, int), "max_length": Bound(1, 8192, int)},
    "encoder:use-multilingual": {"threads": _THREADS, "batch_size": Bound(1, 4096, int)},
    "encoder:openai-embeddings": {"batch_size": Bound(1, 2048, int), "timeout": Bound(0.0, 3600.0, low_open=True)},
    "encoder:multi-hot": {"max_dense": Bound(0, 65_536, int)},
    "encoder:tfidf": {"max_features": Bound(1, 1_000_000, int, none_ok=True), "min_df": Bound(0.0, 1e6)},
    "encoder:image": {"batch_size": Bound(1, 256, int), "size": Bound(32, 1024, int)},
    "config": {"seed": _SEED},
    "split": {"test_fraction": _FRACTION_OPEN, "cold_fraction": _FRACTION_OPEN,
              "min_interactions": Bound(1, 1_000_000, int), "n_folds": Bound(2, 100, int), "seed": _SEED},
    "fusion": {"temperature": Bound(0.0, 1e6, low_open=True, none_ok=True), "candidates": Bound(1, 10_000, int)},
    "tuning": {"n_trials": Bound(1, 10_000, int)},
    "evaluation": {"ks": Bound(1, 1000, int), "activity_threshold": Bound(0, 10**9, int),
                   "head_fraction": _FRACTION_OPEN, "max_users": Bound(1, 10_000_000, int)},
    "weights": {"weight": _WEIGHT},
}


def bounds_for(algorithm: str, param: str) -> Bound | None:
    """The bound of ``param`` in section ``algorithm`` (an algorithm name or a config section);
    None when the parameter is not numeric or not known."""
    return BOUNDS.get(algorithm, {}).get(param)


def check(value: Any, bound: Bound, where: str) -> Any:
    """``value`` if it is a finite ``bound.kind`` inside the bound, else ConfigError naming ``where``.

    An integral float (``1e3`` written in YAML as ``1.0e3``) is accepted for an integer and
    returned as ``int``; an int is returned as ``float`` for a float parameter.
    """
    if value is None and bound.none_ok:
        return None
    number = _as_number(value, bound)
    if number is None:
        raise ConfigError(f"{where} must be {bound.describe()}; got {value!r}")
    below = number <= bound.low if bound.low_open else number < bound.low
    above = number >= bound.high if bound.high_open else number > bound.high
    if below or above:
        raise ConfigError(f"{where} must be {bound.describe()}; got {value!r}")
    return number


def _as_number(value: Any, bound: Bound) -> int | float | None:
    """``value`` as ``bound.kind`` when that is lossless and finite, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:  # numpy scalars and the like

            if not isinstance(value, (np.integer, np.floating)):
                return None
            value = value.item()
        except ImportError:  # pragma: no cover
            return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if bound.kind is int:
        if isinstance(value, float):
            return int(value) if value.is_integer() else None
        return int(value)
    return float(value)


def check_params(section: str, params: dict[str, Any], where: str) -> dict[str, Any]:
    """``params`` with every bounded entry checked (and normalized); others unchanged."""
    checked = dict(params)
    for name, value in params.items():
        bound = bounds_for(section, str(name))
        if bound is not None:
            checked[name] = check(value, bound, f"{where}.{name}")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where}.{name} must be a finite number; got {value!r}")
    return checked
