"""Cleaning an interaction table before it becomes a ``Dataset``.

Each step says in a note what it removed, so that nothing disappears silently: missing ids,
repeated user-item pairs, ratings below a threshold (implicit-feedback conversion) and the
k-core filter (repeat until every user and item has at least k interactions).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from genre.data.timestamps import has_time
from genre.errors import ConfigError, DataError, check_known_keys

_NOTHING_LEFT = "no interactions left after filtering: lower the rating threshold or the k-core"


@dataclass
class CleaningOptions:
    """What ``clean`` does to the interactions.

    Attributes
    ----------
    drop_duplicates : bool
        Keep one row per (user, item) pair: the latest (by timestamp, then file order).
    drop_missing_ids : bool
        Drop rows without a user or item id (with a note); if False such rows are an error.
    min_rating : float or None
        Keep only rows rated at least this much (e.g. 4 turns 5-star ratings into likes).
    k_core : int
        Repeatedly drop users and items with fewer than ``k_core`` interactions (0: off).

    Examples
    --------
    >>> CleaningOptions.from_dict({"min_rating": 4, "k_core": 5}).to_dict()["k_core"]
    5
    """

    drop_duplicates: bool = True
    drop_missing_ids: bool = True
    min_rating: float | None = None
    k_core: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for the YAML config)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "CleaningOptions":
        """Build from a dict; unknown keys or wrong types raise a ``ConfigError``."""
        data = dict(data or {})
        check_known_keys(data, [f.name for f in fields(cls)], "cleaning options")
        options = cls(**data)
        options.validate()
        return options

    def validate(self) -> None:
        """Raise a ``ConfigError`` naming the first invalid option."""
        for name in ("drop_duplicates", "drop_missing_ids"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(f"cleaning option {name} must be true or false, got {getattr(self, name)!r}")
        if self.min_rating is not None and (
                isinstance(self.min_rating, bool) or not isinstance(self.min_rating, (int, float))
                or not math.isfinite(self.min_rating)):
            raise ConfigError(f"cleaning option min_rating must be a number or empty, got {self.min_rating!r}")
        if isinstance(self.k_core, bool) or not isinstance(self.k_core, (int, np.integer)) or self.k_core < 0:
            raise ConfigError(f"cleaning option k_core must be a whole number >= 0, got {self.k_core!r}")


def missing_ids(frame: pd.DataFrame, *, drop: bool, source: str,
                labels: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """Rows of ``frame`` with an empty id in any of the ``labels`` columns: dropped with a note,
    or (``drop=False``) a ``DataError`` naming the column and the first such row.

    ``labels`` maps a column of ``frame`` to the name shown in messages (the source column).
    """
    empty = np.zeros(len(frame), dtype=bool)
    first: tuple[int, str] | None = None
    for column, label in labels.items():
        values = frame[column]
        blank = _blank(values)
        if blank.any():
            position = int(np.flatnonzero(blank)[0])
            if first is None or position < first[0]:
                first = (position, label)
        empty = empty | blank
    if first is None:
        return frame, []
    count = int(empty.sum())
    if count == len(frame):
        blank = [(column, label) for column, label in labels.items() if _all_blank(frame[column])]
        words = _words(frame, [blank[0][0]], empty)[1] if blank else ""
        which = (f"column {blank[0][1]!r} is empty{f' (or {words})' if words else ''}" if blank
                 else "no row has all of its ids")
        raise DataError(f"{source}: {which} in every row; map the column that holds the ids")
    if not drop:
        label = frame.index[first[0]]
        row = label + 1 if isinstance(label, (int, np.integer)) else label
        raise DataError(f"{source}: column {first[1]!r} row {row} has no id ({count} row"
                        f"{'s' * (count > 1)} without an id in all); fill the ids in, or drop such rows "
                        f"(cleaning option drop_missing_ids)")
    n_words, words = _words(frame, list(labels), empty)
    written = f" ({n_words} written as {words})" if n_words else ""
    return frame[~empty], [f"{source}: dropped {count} row{'s' * (count > 1)} without an id{written}"]


#: Id cells that mean "missing" (compared without case or surrounding spaces), besides empty ones:
#: what spreadsheets, pandas and databases write for a missing value.
MISSING_WORDS = frozenset({"nan", "none", "null", "n/a", "na", "<na>", "#n/a", "nat", "-nan"})
_MISSING_SET = pa.array(sorted(MISSING_WORDS | {""}))


def _blank(values: pd.Series) -> np.ndarray:
    """Missing, whitespace-only or missing-word (``nan``, ``NULL``, ``N/A`` ...) cells. Bytes,
    lists and maps are not blank (``checked_ids`` refuses them with a message); ``astype(str)``
    would try to decode bytes as UTF-8."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.isna().to_numpy()
    if values.dtype == object:
        return values.map(lambda v: (isinstance(v, str) and v.strip().lower() in MISSING_WORDS | {""})
                          or (pd.api.types.is_scalar(v) and pd.isna(v))).to_numpy(dtype=bool)
    text = pc.utf8_lower(pc.utf8_trim_whitespace(pa.array(values.astype(str), from_pandas=True)))
    return values.isna().to_numpy(dtype=bool) | np.asarray(pc.is_in(text, value_set=_MISSING_SET), dtype=bool)


def _words(frame: pd.DataFrame, columns: list[str], rows: np.ndarray) -> tuple[int, str]:
    """How many of the ``rows`` ids were a missing word, and those words (``'nan', 'NULL'``)."""
    written = pd.concat([frame[c][rows] for c in columns])
    written = pd.Series([v.strip() for v in written.tolist() if isinstance(v, str)], dtype=object)
    written = written[written.str.lower().isin(MISSING_WORDS)] if len(written) else written
    return len(written), ", ".join(map(repr, sorted(written.unique())[:6]))


def _all_blank(values: pd.Series) -> bool:
    return bool(_blank(values).all())


def clean(frame: pd.DataFrame, options: CleaningOptions | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Apply ``options`` to raw-id interactions (``user``, ``item``, ``rating``, ``timestamp``).

    Returns the kept rows (source order, fresh index) and one note per step that removed rows.
    Raises a ``DataError`` when nothing is left.
    """
    options = options or CleaningOptions()
    options.validate()
    frame, notes = missing_ids(frame, drop=options.drop_missing_ids, source="interactions",
                               labels={"user": "user", "item": "item"})
    if options.drop_duplicates and len(frame):
        latest = frame.sort_values("timestamp", kind="stable") if "timestamp" in frame else frame
        keep = latest.index[~latest.duplicated(["user", "item"], keep="last")]
        dropped = len(frame) - len(keep)
        if dropped:
            frame = frame.loc[frame.index.isin(keep)]
            which = "the latest of each" if has_time(frame) else "the last of each in file order (no timestamps)"
            notes.append(f"dropped {dropped} repeated (user, item) interactions, keeping {which}")
    if options.min_rating is not None and len(frame):
        kept = frame["rating"] >= options.min_rating
        notes.append(f"kept the {int(kept.sum())} interactions rated {options.min_rating:g} or more "
                     f"(dropped {int((~kept).sum())})")
        frame = frame[kept]
    if options.k_core > 1 and len(frame):
        frame, note = _k_core(frame, options.k_core)
        notes.extend(note)
    if len(frame) == 0:
        raise DataError(_NOTHING_LEFT)
    return frame.reset_index(drop=True), notes


def _k_core(frame: pd.DataFrame, k: int) -> tuple[pd.DataFrame, list[str]]:
    """Drop users and items with fewer than ``k`` rows until none is left (dropping can cascade)."""
    before = (len(frame), frame["user"].nunique(), frame["item"].nunique())
    rounds = 0
    while len(frame):
        per_user = frame.groupby("user", sort=False)["user"].transform("size")
        per_item = frame.groupby("item", sort=False)["item"].transform("size")
        keep = (per_user >= k) & (per_item >= k)
        if keep.all():
            break
        frame = frame[keep]
        rounds += 1
    if not rounds:
        return frame, []
    after = (len(frame), frame["user"].nunique(), frame["item"].nunique())
    return frame, [f"{k}-core filter ({rounds} rounds): dropped {before[0] - after[0]} interactions, "
                   f"{before[1] - after[1]} users and {before[2] - after[2]} items"]
