"""One table of what every parameter a config can set accepts, built from the classes' declarations.

Why: a hosted app takes values from strangers. ``factors: 1e9`` asks ALS for 224 GiB and
``window: 1e12`` exhausts memory long before any algorithm could say why, so every value is
checked before anything runs. Each algorithm and encoder declares its parameters' constraints
beside its ``__init__`` (``_parameter_constraints``, see ``genre.constraints``); this module
only gathers them, adds the run-config sections declared below, and is what the config, the
CLI and the app's widget limits read, so a parameter's contract is written once.

Sections are algorithm names (``"als"``, ``"ease"`` ...), ``"encoder:<name>"`` for encoder
parameters, and ``"config"``, ``"split"``, ``"fusion"``, ``"tuning"``, ``"evaluation"``,
``"weights"`` for the rest of a run config. A section's class is imported only when that
section is asked for; ``BOUNDS``, the whole table, imports every algorithm and encoder module.

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

import functools
import math
from typing import Any

from genre.algorithms import ALGORITHM_NAMES, algorithm_class
from genre.constraints import FRACTION_OPEN, SEED, Bound, Constraint, Constraints
from genre.encoders.registry import ENCODER_NAMES, encoder_class
from genre.errors import ConfigError

#: The run config's own numbers (its dataclasses live in genre.config, which stays small).
#: ``evaluation.ks`` bounds each cut-off of the list (the CLI's ``-k`` and a metric's ``@K`` too).
RUN_CONFIG_BOUNDS: dict[str, Constraints] = {
    "config": {"seed": SEED},
    "split": {"test_fraction": FRACTION_OPEN, "cold_fraction": FRACTION_OPEN,
              "min_interactions": Bound(1, 1_000_000, int), "n_folds": Bound(2, 100, int), "seed": SEED},
    "fusion": {"temperature": Bound(0.0, 1e6, low_open=True, none_ok=True), "candidates": Bound(1, 10_000, int)},
    "tuning": {"n_trials": Bound(1, 10_000, int)},
    "evaluation": {"ks": Bound(1, 1000, int), "activity_threshold": Bound(0, 10**9, int),
                   "head_fraction": FRACTION_OPEN, "max_users": Bound(1, 10_000_000, int)},
    "weights": {"weight": Bound(0.0, 1e6)},
    "spark": {"shuffle_partitions": Bound(1, 100_000, int), "knn_history": Bound(2, 100_000, int)},
}

#: The longest list a config key accepts (keyed by the list's own name, wherever it sits):
#: each entry multiplies the work (4 EASE entries hold four n² matrices; 1000 cut-offs evaluate
#: for minutes), so lengths are bounded like numbers. Checked as the config is read.
MAX_LIST_LENGTHS: dict[str, int] = {"algorithms": 32, "modalities": 16, "ks": 10, "fields": 64}

_ENCODER = "encoder:"


def section_constraints(section: str) -> Constraints:
    """Parameter → constraint of ``section``, read from its class when it is an algorithm or an
    encoder; empty for an unknown section."""
    if section in RUN_CONFIG_BOUNDS:
        return RUN_CONFIG_BOUNDS[section]
    if section in ALGORITHM_NAMES:
        return algorithm_class(section)._parameter_constraints
    encoder = section.removeprefix(_ENCODER)
    if section.startswith(_ENCODER) and encoder in ENCODER_NAMES:
        return encoder_class(encoder)._parameter_constraints
    return {}


@functools.cache
def _table() -> dict[str, Constraints]:
    sections = [*ALGORITHM_NAMES, *(_ENCODER + name for name in ENCODER_NAMES), *RUN_CONFIG_BOUNDS]
    return {section: section_constraints(section) for section in sections}


def __getattr__(name: str) -> Any:
    """``BOUNDS``: section → parameter → constraint, every section (built on first use)."""
    if name == "BOUNDS":
        return _table()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def bounds_for(section: str, param: str) -> Constraint | None:
    """The constraint of ``param`` in ``section`` (an algorithm name, ``encoder:<name>`` or a config
    section); None when the parameter or the section is not known."""
    return section_constraints(section).get(param)


def check(value: Any, bound: Constraint, where: str) -> Any:
    """``value`` (normalised, e.g. ``1.0e3`` → ``1000`` for an integer) if ``bound`` allows it,
    else a one-line ConfigError naming ``where``."""
    return bound.check(value, where)


def check_length(value: list, where: str) -> list:
    """``value`` unless it is longer than ``MAX_LIST_LENGTHS`` allows for ``where``'s last name."""
    limit = MAX_LIST_LENGTHS.get(where.rsplit(".", 1)[-1])
    if limit is not None and len(value) > limit:
        raise ConfigError(f"{where} lists {len(value)} entries; at most {limit} are allowed")
    return value


def check_params(section: str, params: dict[str, Any], where: str) -> dict[str, Any]:
    """``params`` with every declared entry checked (and normalised); unknown ones unchanged,
    unless they are NaN or infinite (the unknown name itself is refused later, with the valid ones)."""
    checked = dict(params)
    for name, value in params.items():
        constraint = bounds_for(section, str(name))
        if constraint is not None:
            checked[name] = constraint.check(value, f"{where}.{name}")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where}.{name} must be a finite number; got {value!r}")
    return checked
