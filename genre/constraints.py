"""What values one parameter accepts: the constraint types every class declares beside its ``__init__``.

Why: a hosted app takes parameters from strangers. ``factors: 1e9`` asks ALS for 224 GiB and
``ngram_range: [1, 1000000]`` makes TF-IDF enumerate every phrase of every text, so each
algorithm and encoder declares ``_parameter_constraints`` (the scikit-learn idea) right next to
its signature, and every value is checked once, where it enters (config, ``make_algorithm``,
``make_encoder``). ``genre.bounds`` builds its table, and the app its widget limits, from these
declarations. This module sits low (it imports only ``genre.errors``) so the algorithm modules
can use it without importing the table that imports them.

Each constraint has ``check(value, where) -> value`` (the value normalized, e.g. ``1.0e3`` →
``1000`` for an integer) that raises a one-line ``ConfigError`` naming ``where``, what was
expected and what was got, and ``describe()``, the expected part of that message.

Examples
--------
>>> Bound(1, 1024, int).check(64, "als.factors")
64
>>> Bound(1, 1024, int).check(10**9, "als.factors")
Traceback (most recent call last):
...
genre.errors.ConfigError: als.factors must be an integer in [1, 1024]; got 1000000000
>>> Pair(Bound(1, 5, int)).check([1, 2], "tfidf.ngram_range")
(1, 2)
>>> OneOf(("mean", "attention")).check("max", "two_tower.pooling")
Traceback (most recent call last):
...
genre.errors.ConfigError: two_tower.pooling must be one of 'mean', 'attention'; got 'max'
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from genre.errors import ConfigError

#: How much of a refused value a message repeats (the message stays one readable line).
_SHOWN_CHARS = 80


class Constraint(ABC):
    """The values one parameter accepts; ``none_ok`` adds None ("no seed", "no cap", "default model")."""

    none_ok: bool = False

    def check(self, value: Any, where: str) -> Any:
        """``value`` (normalized) when allowed, else a one-line ConfigError naming ``where``."""
        if value is None and self.none_ok:
            return None
        return self._check(value, where)

    @abstractmethod
    def describe(self) -> str:
        """What is expected, as it reads after "must be" (``an integer in [1, 1024]``)."""

    @abstractmethod
    def _check(self, value: Any, where: str) -> Any:
        """``check`` for a value that is not an allowed None."""

    def _refuse(self, value: Any, where: str) -> ConfigError:
        shown = repr(value)
        if len(shown) > _SHOWN_CHARS:
            shown = shown[:_SHOWN_CHARS] + "..."
        return ConfigError(f"{where} must be {self.describe()}; got {shown}")


@dataclass(frozen=True)
class Bound(Constraint):
    """A number of type ``kind`` in [low, high] (an end open when flagged).

    An integral float (``1e3`` written in YAML as ``1.0e3``) is accepted for an integer and
    returned as ``int``; an int is returned as ``float`` for a float parameter; numpy scalars
    are accepted; booleans, NaN and infinities are not.
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

    def _check(self, value: Any, where: str) -> int | float:
        number = self._as_number(value)
        if number is None:
            raise self._refuse(value, where)
        below = number <= self.low if self.low_open else number < self.low
        above = number >= self.high if self.high_open else number > self.high
        if below or above:
            raise self._refuse(value, where)
        return number

    def _as_number(self, value: Any) -> int | float | None:
        """``value`` as ``kind`` when that is lossless and finite, else None."""
        if isinstance(value, (np.integer, np.floating)):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if self.kind is int:
            if isinstance(value, float):
                return int(value) if value.is_integer() else None
            return int(value)
        return float(value)


def _fmt(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class OneOf(Constraint):
    """One of a fixed set of options (strings such as ``pooling="attention"``)."""

    choices: tuple[Any, ...]
    none_ok: bool = False

    def describe(self) -> str:
        return f"one of {', '.join(map(repr, self.choices))}"

    def _check(self, value: Any, where: str) -> Any:
        if not any(type(value) is type(choice) and value == choice for choice in self.choices):
            raise self._refuse(value, where)  # same type required: True is not 1, "1" is not 1
        return value


@dataclass(frozen=True)
class Flag(Constraint):
    """A boolean; only ``True`` / ``False`` (a YAML ``"no"`` string or ``1`` is refused, not guessed)."""

    none_ok: bool = False

    def describe(self) -> str:
        return "true or false"

    def _check(self, value: Any, where: str) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise self._refuse(value, where)
        return bool(value)


@dataclass(frozen=True)
class Text(Constraint):
    """A string (or path) of at most ``max_chars`` characters, without NUL: a model name, a path, a column.

    Returned unchanged, so a ``pathlib.Path`` stays a path.
    """

    max_chars: int
    none_ok: bool = False

    def describe(self) -> str:
        return f"a text of at most {self.max_chars} characters (no NUL)"

    def _check(self, value: Any, where: str) -> str | os.PathLike[str]:
        text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
        if not isinstance(text, str) or len(text) > self.max_chars or "\0" in text:
            raise self._refuse(value, where)
        return value


@dataclass(frozen=True)
class Pair(Constraint):
    """Two values ``(low, high)`` each within ``item``, with low <= high (TF-IDF's ``ngram_range``).

    Returned as a tuple (YAML gives a list).
    """

    item: Bound
    none_ok: bool = False

    def describe(self) -> str:
        return f"a pair (low, high) of {_plural(self.item.describe())} with low <= high"

    def _check(self, value: Any, where: str) -> tuple[Any, Any]:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise self._refuse(value, where)
        try:
            low, high = (self.item.check(v, where) for v in value)
        except ConfigError:
            raise self._refuse(value, where) from None
        if low > high:
            raise self._refuse(value, where)
        return low, high


@dataclass(frozen=True)
class ListOf(Constraint):
    """A list of at most ``max_len`` values, each allowed by ``item``; returned as a list."""

    item: Constraint
    max_len: int
    none_ok: bool = False

    def describe(self) -> str:
        return f"a list of at most {self.max_len} values, each {self.item.describe()}"

    def _check(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, (list, tuple)) or len(value) > self.max_len:
            raise self._refuse(value, where)
        return [self.item.check(v, f"{where}[{i}]") for i, v in enumerate(value)]


@dataclass(frozen=True)
class Either(Constraint):
    """The first of ``options`` that accepts the value (TF-IDF's ``min_df``: a count or a fraction)."""

    options: tuple[Constraint, ...]
    none_ok: bool = False

    def describe(self) -> str:
        return " or ".join(option.describe() for option in self.options)

    def _check(self, value: Any, where: str) -> Any:
        for option in self.options:
            try:
                return option.check(value, where)
            except ConfigError:
                continue
        raise self._refuse(value, where)


def _plural(description: str) -> str:
    """``an integer in [1, 5]`` → ``integers in [1, 5]`` (for a pair's items)."""
    for single, many in (("an integer", "integers"), ("a number", "numbers")):
        if description.startswith(single):
            return many + description[len(single):]
    return description


#: Ranges many classes share: one declaration, so "a seed" means the same everywhere.
SEED = Bound(0, 2**32 - 1, int)
OPTIONAL_SEED = Bound(0, 2**32 - 1, int, none_ok=True)
THREADS = Bound(1, 64, int)
BATCH = Bound(1, 65_536, int)
FACTORS = Bound(1, 1024, int)
ITERATIONS = Bound(1, 10_000, int)
PENALTY = Bound(0.0, 1e6)
LEARNING_RATE = Bound(0.0, 10.0, low_open=True)
FRACTION_OPEN = Bound(0.0, 1.0, low_open=True, high_open=True)
UNIT = Bound(0.0, 1.0)
ENCODER_BATCH = Bound(1, 4096, int)
#: A file path; a model name, hub id or model folder (None: the default model); a table column.
PATH = Text(max_chars=4096)
MODEL_NAME = Text(max_chars=4096, none_ok=True)
COLUMN = Text(max_chars=256)

#: What a class's ``_parameter_constraints`` maps: parameter name → constraint.
Constraints = dict[str, Constraint]

__all__ = ["BATCH", "COLUMN", "Bound", "Constraint", "Constraints", "ENCODER_BATCH", "Either", "FACTORS",
           "FRACTION_OPEN", "Flag", "ITERATIONS", "LEARNING_RATE", "ListOf", "MODEL_NAME", "OPTIONAL_SEED",
           "OneOf", "PATH", "PENALTY", "Pair", "SEED", "THREADS", "Text", "UNIT"]
