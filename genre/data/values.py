"""What the value column of an interaction log is: explicit ratings, or implicit counts (plays, clicks…).

Why: a log of play counts loaded as ``rating`` reads wrong when every chart calls it "rating" on a
linear axis (one user with 350k plays flattens every bar). The rule is decided from the data — a
small bounded scale (1–5 stars, 0.5–5, 1–10) is a rating; non-negative values reaching beyond any
rating scale are counts — and the source column's name only picks the word for counts ("plays",
"clicks", …) or settles a small all-integer column that is named as a count ("plays" 1–5).

Examples
--------
>>> value_kind(pd.Series([1.0, 3.0, 5.0, 4.0])).plural
'ratings'
>>> kind = value_kind(pd.Series([3.0, 120.0, 35_000.0]), column="plays")
>>> (kind.implicit, kind.plural, kind.log_axis)
(True, 'plays', True)
>>> value_kind(pd.Series([1.0, 1.0])) is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The largest value a rating scale reaches (1–5 stars, 1–10 marks); counts go beyond it.
RATING_SCALE_MAX = 10.0
#: Source-column words → what the counts are called (first match wins; else "counts").
COUNT_WORDS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("play", "listen", "scrobble"), "plays", "play"),
    (("click",), "clicks", "click"),
    (("view", "watch"), "views", "view"),
    (("purchase", "quantity", "qty", "order", "bought"), "purchases", "purchase"),
    (("hour", "minute", "playtime"), "hours", "hour"),
)
#: Source-column words that name a count whatever the values (a "plays" column of 1–5 is still plays).
_COUNT_NAME = re.compile(r"play|listen|scrobble|click|view|watch|purchase|quantity|qty|count|freq|times|weight")


@dataclass(frozen=True)
class ValueKind:
    """How the app names and draws the value column.

    ``implicit``: counts of how often (plays, clicks), not a judgement; ``plural`` / ``singular``:
    the word for them; ``log_axis``: draw them on a log axis (counts span orders of magnitude).
    """

    implicit: bool
    plural: str
    singular: str

    @property
    def log_axis(self) -> bool:
        return self.implicit


RATINGS = ValueKind(False, "ratings", "rating")


def value_kind(values: pd.Series | np.ndarray, column: str | None = None) -> ValueKind | None:
    """The kind of the interaction values ``values`` (the ``rating`` column), or None when there is
    nothing to chart (one value throughout: every interaction counts the same).

    Implicit counts: every value ≥ 0 and the largest beyond ``RATING_SCALE_MAX`` (a large range),
    or all whole numbers ≥ 0 in a column whose name says count. Anything else — a small bounded
    scale, negative values — is a rating. ``column`` is the source column's name, when known.
    """
    # an upload's preview may hold text in the column (cleaning refuses it later): only numbers count
    array = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce").dropna().to_numpy(float)
    if array.size == 0 or np.unique(array).size <= 1:
        return None
    name = (column or "").lower()
    low, high = float(array.min()), float(array.max())
    whole = bool(np.all(array == np.round(array)))
    counted = low >= 0 and (high > RATING_SCALE_MAX or (whole and bool(_COUNT_NAME.search(name))))
    if not counted:
        return RATINGS
    for words, plural, singular in COUNT_WORDS:
        if any(word in name for word in words):
            return ValueKind(True, plural, singular)
    return ValueKind(True, "counts", "count")


def count_bands(values: pd.Series | np.ndarray, bands: int = 40) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(interactions per band, band edges, band labels) of positive counts in log-spaced bands: how a
    count histogram stays readable from 1 to hundreds of thousands. Whole-number counts get whole
    edges (no empty bands between 1 and 2) and labels such as ``"5–9"``."""
    array = np.asarray(values, dtype=float)
    array = array[array > 0]
    if array.size == 0:
        return np.zeros(1, dtype=np.int64), np.array([1.0, 2.0]), ["none"]
    whole = bool(np.all(array == np.round(array)))
    edges = np.geomspace(array.min(), array.max() * (1 + 1e-9) + 1e-9, bands + 1)
    edges = np.unique(np.r_[np.ceil(edges[:-1]), array.max() + 1] if whole else edges)
    counts, _ = np.histogram(array, bins=edges)
    if whole:
        labels = [f"{lo:,.0f}" if hi - lo <= 1 else f"{lo:,.0f}–{hi - 1:,.0f}" for lo, hi in zip(edges, edges[1:])]
    else:
        labels = [f"{lo:,.3g}–{hi:,.3g}" for lo, hi in zip(edges, edges[1:])]
    return counts, edges, labels
