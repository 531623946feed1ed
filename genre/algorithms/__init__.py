"""Recommendation algorithms and the registry that builds them by name.

The registry maps a short name to ``"module:Class"`` and imports the module only when the
class is asked for, so ``import genre.algorithms`` stays cheap: torch (two-tower) and
implicit (ALS, BPR) load only when those algorithms are used.

Examples
--------
>>> from genre.algorithms import ALGORITHM_NAMES, make_algorithm
>>> "ease" in ALGORITHM_NAMES
True
>>> make_algorithm("ease", l2=250.0)
EASE(l2=250.0, max_items=20000)
"""

from __future__ import annotations

import importlib
from typing import Any

from genre.algorithms.base import Progress, Recommender
from genre.errors import ConfigError

_REGISTRY: dict[str, str] = {
    "popularity": "genre.algorithms.popularity:Popularity",
    "item_knn": "genre.algorithms.item_knn:ItemKNN",
    "sequential": "genre.algorithms.sequential:SequentialKNN",
    "ease": "genre.algorithms.ease:EASE",
    "als": "genre.algorithms.implicit_mf:ALS",
    "bpr": "genre.algorithms.implicit_mf:BPR",
    "content": "genre.algorithms.content:ContentBased",
    "genre_pref": "genre.algorithms.genre_pref:GenrePreference",
    "two_tower": "genre.algorithms.two_tower:TwoTower",
    "transformer_seq": "genre.algorithms.transformer_seq:TransformerSeq",
    "content_to_cf": "genre.algorithms.content_to_cf:ContentToCF",
    "profile": "genre.algorithms.profile:ProfileRecommender",
}

#: Every algorithm name a config may use, in display order.
ALGORITHM_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def algorithm_class(name: str) -> type[Recommender]:
    """The ``Recommender`` subclass registered under ``name`` (imports its module now)."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown algorithm {name!r}; valid algorithms: {', '.join(ALGORITHM_NAMES)}")
    module_name, class_name = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def make_algorithm(name: str, **params: Any) -> Recommender:
    """An unfitted algorithm ``name`` with hyper-parameters ``params`` (the rest at defaults).

    Unknown names are refused here; values are checked by ``fit`` against the class's
    ``_parameter_constraints`` (one place, which a directly built algorithm passes through too).
    """
    cls = algorithm_class(name)
    valid = cls._param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(f"algorithm {name!r} has no parameter(s) {', '.join(map(repr, unknown))}; "
                          f"valid parameters: {', '.join(valid) or '(none)'}")
    return cls(**params)


__all__ = ["ALGORITHM_NAMES", "Progress", "Recommender", "algorithm_class", "make_algorithm"]
