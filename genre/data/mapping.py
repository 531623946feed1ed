"""Which column means what, and turning a raw table into GENRE's canonical columns.

A ``ColumnMapping`` (``genre.data.columns``) names the source columns; any field left as None is guessed from common
names in many domains' spellings (``genre.data.guess``). The
``*_from_table`` functions apply a mapping: they type ids (all-integer ids become int64, any
other id stays text, so mixed ids never crash), ratings (float32) and times (int64 epoch
seconds), and raise a ``DataError`` naming the file, column and row of any value they cannot use
(among them ids that are lists or objects, hold a line break or run past 256 characters).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from genre.data.cleaning import missing_ids
from genre.data.columns import ColumnMapping
from genre.data.dataset import _as_list
from genre.data.guess import EXAMPLES, INTERACTION_FIELDS, ITEM_FIELDS, guess_mapping, id_text
from genre.errors import DataError

_LABELS = {"user": "user ids", "item": "item ids", "item_id": "item ids", "tags": "tag text"}


def _resolve(raw: pd.DataFrame, mapping: ColumnMapping | None, wanted: tuple[str, ...],
             required: tuple[str, ...], source: str) -> dict[str, str | None]:
    """Column per wanted field; a named column that is absent, or a required one not found, fails."""
    guessed = guess_mapping(raw.columns, mapping)
    listing = ", ".join(map(str, raw.columns))
    chosen = {}
    for name in wanted:
        column = getattr(guessed, name)
        if column is not None and column not in raw.columns:
            raise DataError(f"{source}: column {column!r} not found; the columns are: {listing}")
        if column is None and name in required:
            if any(_looks_like_data(c) for c in raw.columns):
                raise DataError(f"{source}: the first row ({listing}) looks like data, not column names: "
                                f"the file seems to have no header row; add one (e.g. user,item,rating)")
            raise DataError(
                f"{source}: no column for the {_LABELS.get(name, name)} was found (looked for "
                f"{', '.join(EXAMPLES[name])} ...); the columns are: {listing}; "
                f"name it in the column mapping ({name}=...)"
            )
        chosen[name] = column
    return chosen


def _looks_like_data(column: object) -> bool:
    """True for a header cell that is a number (``1``, ``4.5``, ``964982703``): a data row."""
    return re.fullmatch(r"[-+]?\d+(\.\d*)?([eE][-+]?\d+)?", str(column).strip()) is not None


def interactions_from_table(
    raw: pd.DataFrame,
    mapping: ColumnMapping | None = None,
    *,
    source: str = "interactions",
    drop_missing_ids: bool = False,
    time_format: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Canonical interactions (``user``, ``item`` raw ids, ``rating``, ``timestamp``) and notes."""
    cols = _resolve(raw, mapping, INTERACTION_FIELDS, ("user", "item"), source)
    frame = pd.DataFrame({"user": raw[cols["user"]], "item": raw[cols["item"]]})
    frame, notes = missing_ids(frame, drop=drop_missing_ids, source=source,
                               labels={"user": cols["user"], "item": cols["item"]})
    rows = frame.index
    (users, user_notes), (items, item_notes) = (checked_ids(frame[f], cols[f], source) for f in ("user", "item"))
    out = pd.DataFrame({"user": users, "item": items})
    notes.extend(user_notes + item_notes)
    if cols["rating"]:
        out["rating"] = to_ratings(raw[cols["rating"]].loc[rows], cols["rating"], source)
    else:
        out["rating"] = np.float32(1.0)
        notes.append(f"{source}: no rating column, so every interaction counts 1.0")
    if cols["timestamp"]:
        out["timestamp"], more = to_timestamps(raw[cols["timestamp"]].loc[rows], cols["timestamp"],
                                               source, time_format)
        notes.extend(more)
    else:
        out["timestamp"] = np.int64(0)  # load_dataset notes what needs time (genre.data.timestamps.time_note)
    return out.reset_index(drop=True), notes


def items_from_table(
    raw: pd.DataFrame, mapping: ColumnMapping | None = None, *, source: str = "items"
) -> tuple[pd.DataFrame, list[str]]:
    """Canonical item table (``item_id``, ``title``, ``genres`` list, ``tags``, ``description``,
    ``image`` when mapped, then the ``extra`` columns) and notes.

    Rows without an item id are dropped (and noted): nothing can refer to them.
    """
    cols = _resolve(raw, mapping, ITEM_FIELDS, ("item_id",), source)
    extra = list(mapping.extra) if mapping else []
    for column in extra:
        if column in ITEM_FIELDS:
            raise DataError(f"{source}: extra column {column!r} has a canonical name; "
                            f"map it as {column}= instead")
        if column not in raw.columns:
            raise DataError(f"{source}: column {column!r} not found; the columns are: "
                            f"{', '.join(map(str, raw.columns))}")
    frame, notes = missing_ids(raw, drop=True, source=source, labels={cols["item_id"]: cols["item_id"]})
    ids, more = checked_ids(frame[cols["item_id"]], cols["item_id"], source)
    notes.extend(more)
    out = pd.DataFrame({"item_id": ids})
    titles = _text(frame[cols["title"]]) if cols["title"] else pd.Series("", index=frame.index)
    out["title"] = np.where(titles.to_numpy() == "", ids.astype(str).to_numpy(), titles.to_numpy())
    genres = frame[cols["genres"]].tolist() if cols["genres"] else [None] * len(frame)
    out["genres"] = pd.Series([_as_list(g) for g in genres], index=frame.index, dtype=object)
    for name in ("tags", "description"):
        out[name] = _text(frame[cols[name]]) if cols[name] else ""
    if cols["image"]:
        out["image"] = _text(frame[cols["image"]])
    for column in extra:
        out[column] = frame[column]
    duplicated = int(out["item_id"].duplicated().sum())
    if duplicated:
        notes.append(f"{source}: {duplicated} repeated item ids; the first row of each is used")
    return out.reset_index(drop=True), notes


def tags_from_table(
    raw: pd.DataFrame, mapping: ColumnMapping | None = None, *, source: str = "tags"
) -> tuple[pd.DataFrame, list[str]]:
    """Canonical user-applied tags (``user``, ``item`` raw ids, ``tag`` str, ``timestamp``)."""
    cols = _resolve(raw, mapping, ("user", "item", "tags", "timestamp"), ("user", "item", "tags"), source)
    frame, notes = missing_ids(raw, drop=True, source=source,
                               labels={cols[f]: cols[f] for f in ("user", "item", "tags")})
    (users, user_notes), (items, item_notes) = (checked_ids(frame[cols[f]], cols[f], source)
                                                for f in ("user", "item"))
    notes.extend(user_notes + item_notes)
    out = pd.DataFrame({"user": users, "item": items,
                        "tag": _text(frame[cols["tags"]]).str.strip()})
    if cols["timestamp"]:
        out["timestamp"], more = to_timestamps(frame[cols["timestamp"]], cols["timestamp"], source)
        notes.extend(more)
    else:
        out["timestamp"] = np.int64(0)
    return out[out["tag"] != ""].reset_index(drop=True), notes


def _text(values: pd.Series) -> pd.Series:
    """Cells as text: lists joined by ", ", missing as ""."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.fillna("")
    return pd.Series([", ".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else
                      "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                      for v in values.tolist()], index=values.index, dtype=str)


def _cast(values: pd.Series, arrow_type: pa.DataType) -> np.ndarray | None:
    """``values`` converted by pyarrow (fast and strict), or None if any value is missing or does not fit."""
    try:
        array = pc.cast(pa.array(values, from_pandas=True), arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return None if array.null_count else array.to_numpy(zero_copy_only=False)


def to_ids(values: pd.Series) -> pd.Series:
    """Raw ids typed consistently: int64 when every id is an integer (``1`` and ``1.0`` alike),
    else text (with ``"1.0"`` written ``"1"``, so the two spellings stay one id)."""
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("int64")
    if pd.api.types.is_float_dtype(values.dtype) and (values == np.round(values)).all():
        return values.astype("int64")
    text = values.astype(str).str.strip()
    integers = _cast(text, pa.int64())
    if integers is None:
        text = id_text(text)  # "1.0" is the id 1: a float column written out with its ".0"
        integers = _cast(text, pa.int64())
    return text if integers is None else pd.Series(integers, index=values.index)


#: Longer ids are refused: an id is a short key, and ids are stored as fixed-width text.
MAX_ID_LENGTH = 256


def checked_ids(values: pd.Series, column: str, source: str) -> tuple[pd.Series, list[str]]:
    """``to_ids`` after refusing values that cannot be ids: nested values (lists, objects),
    text over ``MAX_ID_LENGTH`` characters and text with a line break (an unclosed quote).

    Also returns a note when several spellings became one id (``"01"``, ``"1"`` and ``"1.0"``),
    and one naming ids that stay apart (``"01"`` and ``"1"`` among text ids).
    """
    if values.dtype == object:
        nested = values.map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray, bytes))).to_numpy()
        if nested.any():
            raise _bad_value(values, nested, column, source, "a list or object",
                             "ids must be numbers or text: map the right column")
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return to_ids(values), []
    text = values.astype(str).str.strip()
    long = (text.str.len() > MAX_ID_LENGTH).to_numpy()
    if long.any():
        raise _bad_value(text.str.slice(0, 40) + "...", long, column, source,
                         f"longer than {MAX_ID_LENGTH} characters", "ids are short keys: map the right column")
    broken = (text.str.contains("\n", regex=False) | text.str.contains("\r", regex=False)).to_numpy()
    if broken.any():
        raise _bad_value(values, broken, column, source, "with a line break",
                         "an id has no line breaks: look for an unclosed quote (\") above that row")
    ids = to_ids(values)
    notes = []
    if ids.nunique() < text.nunique():
        spellings = pd.DataFrame({"id": ids.to_numpy(), "text": text.to_numpy()}).drop_duplicates()
        merged = spellings[spellings["id"].duplicated(keep=False)]  # not empty: fewer ids than texts
        example = merged.loc[merged["id"] == merged["id"].iloc[0], "text"].tolist()[:3]
        notes.append(f"{source}: column {column!r} spells one number in several ways "
                     f"({', '.join(map(repr, example))}); they are read as the same id")
    if ids.dtype != np.int64:
        notes.extend(_split_numbers(ids, column, source))
    return ids, notes


def _split_numbers(ids: pd.Series, column: str, source: str) -> list[str]:
    """A note naming ids that are one number written two ways (``"01"``, ``"1"``) but stay apart,
    because the column also holds ids that are not numbers (so it is read as text)."""
    distinct = pd.Series(ids.unique())
    numbers = pd.to_numeric(distinct, errors="coerce")
    if numbers.notna().all() or numbers.notna().sum() < 2:
        return []
    same = distinct[numbers.notna() & numbers.duplicated(keep=False)]
    if same.empty:
        return []
    first = numbers[same.index[0]]
    apart = same[numbers[same.index] == first].tolist()[:3]
    text = distinct[numbers.isna()].iloc[0]
    return [f"{source}: column {column!r} holds {' and '.join(map(repr, apart))}, kept as different ids "
            f"because the column also holds ids that are not numbers (such as {text!r}); write each id "
            f"one way to join them"]


def _bad_value(values: pd.Series, bad: np.ndarray, column: str, source: str, expected: str,
               fix: str) -> DataError:
    """The error for the first bad cell: file, column, row (1 = first data row), value, fix."""
    position = int(np.flatnonzero(bad)[0])
    label = values.index[position]
    row = label + 1 if isinstance(label, (int, np.integer)) else label
    more = int(bad.sum()) - 1
    where = f"{source}: column {column!r} row {row}" + (f" (and {more} more)" if more else "")
    value = values.iloc[position]
    value = value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value
    missing = pd.api.types.is_scalar(value) and pd.isna(value)  # lists and maps are not "empty"
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    problem = "is empty" if missing else f"holds {shown}, {expected}"
    return DataError(f"{where} {problem}; {fix}")


def to_ratings(values: pd.Series, column: str, source: str) -> np.ndarray:
    """Ratings as float32; a missing or non-numeric value raises a DataError naming its row."""
    numbers = _cast(values, pa.float64())
    if numbers is None:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(numbers)
    if bad.any():
        raise _bad_value(values, bad, column, source, "not a number",
                         "ratings must be numbers: fix the file, or map no rating column (rating='') "
                         "to count every interaction as 1")
    return numbers.astype(np.float32)


def to_timestamps(values: pd.Series, column: str, source: str,
                  time_format: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Times as int64 epoch seconds, and notes.

    Numbers are epoch times (milli-, micro- or nanoseconds are recognised by their size and
    scaled); text is parsed as dates (``time_format`` if given, else inferred, UTC when no zone
    is given). A missing or unreadable value raises a DataError naming its row.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _datetimes_to_seconds(values, values.isna().to_numpy(), column, source), []
    if time_format is None:
        numbers = _cast(values, pa.int64())
        numbers = _cast(values, pa.float64()) if numbers is None else numbers
        if numbers is not None:
            return _epoch_seconds(pd.Series(numbers, index=values.index), column, source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format=time_format)
        failed = parsed.isna() & values.notna()
        if failed.any() and time_format is None:
            retry = pd.to_datetime(values[failed], errors="coerce", utc=True, format="mixed")
            parsed = parsed.where(~failed, retry)
    failed = parsed.isna().to_numpy()
    if failed.any() and time_format is None and _cast(values[failed], pa.float64()) is not None:
        raise _bad_value(values, failed, column, source, "an epoch number among dates",
                         "write every time in one format (all dates, or all epoch numbers)")
    return _datetimes_to_seconds(values, failed, column, source, parsed), []


def _datetimes_to_seconds(values: pd.Series, bad: np.ndarray, column: str, source: str,
                          parsed: pd.Series | None = None) -> np.ndarray:
    if bad.any():
        raise _bad_value(values, bad, column, source, "which is neither a date nor an epoch time",
                         "fix the file, or map no timestamp column (timestamp='')")
    parsed = values if parsed is None else parsed
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.to_numpy().astype("datetime64[s]").astype(np.int64)


#: Epoch seconds from here on (about the year 5138) are refused rather than silently overflowed.
_MAX_EPOCH_SECONDS = 1e11


def _epoch_seconds(numbers: pd.Series, column: str, source: str) -> tuple[np.ndarray, list[str]]:
    array = numbers.to_numpy()
    infinite = ~np.isfinite(array.astype(np.float64))
    if infinite.any():
        raise _bad_value(numbers, infinite, column, source, "which is not an epoch time", "fix the file")
    largest = float(np.abs(array).max())
    unit, scale = next(((u, s) for u, s in (("nanoseconds", 10**9), ("microseconds", 10**6),
                                             ("milliseconds", 10**3)) if largest > s * 1e8),
                       ("seconds", 1))
    beyond = np.abs(array.astype(np.float64)) / scale >= _MAX_EPOCH_SECONDS
    if beyond.any():
        raise _bad_value(numbers, beyond, column, source, f"which is out of range for an epoch time in {unit}",
                         "fix the file, or map no timestamp column (timestamp='')")
    if np.issubdtype(array.dtype, np.integer):
        seconds = array.astype(np.int64) // scale
    else:
        seconds = np.floor(array.astype(np.float64) / scale).astype(np.int64)
    notes = [] if scale == 1 else [f"{source}: column {column!r} holds epoch {unit}; converted to seconds"]
    return seconds, notes
