"""The Dataset: interactions and items under contiguous integer indices.

Every later stage (splits, algorithms, metrics, the app) speaks in user/item *indices*;
the raw ids only come back at the edges (loading, recommending, display).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genre.errors import DataError

#: Columns of ``Dataset.interactions`` (in this order).
INTERACTION_COLUMNS = ("user", "item", "rating", "timestamp")


def _sorted_unique(values: pd.Series) -> np.ndarray:
    """Unique raw ids in ascending order (numeric order when the ids are numbers).

    docs/benchmark.md indexes the catalog 0..n-1 in ascending raw-id order, so the order matters.
    """
    uniques = pd.unique(values)
    return np.asarray(sorted(uniques))


@dataclass
class Dataset:
    """Interactions and item metadata under contiguous indices.

    Attributes
    ----------
    interactions : DataFrame
        One row per interaction with int32 ``user`` and ``item`` indices, float32 ``rating``
        (1.0 when the source has none) and int64 ``timestamp`` (0 when it has none), in the
        order of the source rows.
    items : DataFrame
        One row per item index (``items.iloc[i]`` describes item ``i``): ``item_id`` (raw id),
        ``title`` (str), ``genres`` (list of str) and any further text / category / image columns.
    user_ids, item_ids : ndarray
        Raw ids by index, ascending.
    name : str
        Where the data came from (shown in the app and in run records).
    preset : str or None
        Detected preset (``"movielens"``, ``"movielens-100k"``, ``"recbole"``, ``"mind"``) or None.
    notes : list of str
        What loading and cleaning did (rows dropped and why), for the user to read.
    tags : DataFrame or None
        Raw user-applied tags (``user``, ``item`` indices, ``tag`` str, ``timestamp``) when the
        source has them (MovieLens). Kept apart from ``items`` because a tag a user applied to
        one of their own held-out items leaks that interaction (docs/benchmark.md).
    value_column : str or None
        The source column behind ``rating`` (e.g. ``"plays"``), when known: it names the values in
        charts (``genre.data.values.value_kind``).

    Examples
    --------
    >>> frame = pd.DataFrame({"user": ["a", "a", "b"], "item": [10, 20, 10]})
    >>> ds = Dataset.from_frame(frame)
    >>> ds.n_users, ds.n_items, ds.matrix().nnz
    (2, 2, 3)
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    user_ids: np.ndarray
    item_ids: np.ndarray
    name: str = "data"
    preset: str | None = None
    notes: list[str] = field(default_factory=list)
    tags: pd.DataFrame | None = None
    value_column: str | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        interactions: pd.DataFrame,
        items: pd.DataFrame | None = None,
        *,
        name: str = "data",
        preset: str | None = None,
        notes: list[str] | None = None,
    ) -> "Dataset":
        """Build from raw-id frames.

        ``interactions`` needs columns ``user`` and ``item`` (raw ids) and may have ``rating``
        and ``timestamp``. ``items`` needs ``item_id`` and may have ``title``, ``genres`` (list
        of str or a ``|``-separated string) and anything else. The catalog is the set of items
        that occur in ``interactions``; item-table rows for other items are dropped and noted.
        """
        notes = list(notes or [])
        missing = [c for c in ("user", "item") if c not in interactions.columns]
        if missing:
            raise DataError(
                f"interactions lack column(s) {', '.join(missing)}; "
                f"the columns are: {', '.join(map(str, interactions.columns))}"
            )
        if len(interactions) == 0:
            raise DataError("no interactions to use: the interaction table is empty")
        user_ids = _sorted_unique(interactions["user"])
        item_ids = _sorted_unique(interactions["item"])
        user_index = pd.Index(user_ids)
        item_index = pd.Index(item_ids)
        rating = (
            interactions["rating"].to_numpy(dtype=np.float32)
            if "rating" in interactions.columns
            else np.ones(len(interactions), dtype=np.float32)
        )
        timestamp = (
            interactions["timestamp"].to_numpy(dtype=np.int64)
            if "timestamp" in interactions.columns
            else np.zeros(len(interactions), dtype=np.int64)
        )
        frame = pd.DataFrame(
            {
                "user": user_index.get_indexer(interactions["user"]).astype(np.int32),
                "item": item_index.get_indexer(interactions["item"]).astype(np.int32),
                "rating": rating,
                "timestamp": timestamp,
            }
        )
        table = _align_items(items, item_ids, notes)
        return cls(frame, table, user_ids, item_ids, name=name, preset=preset, notes=notes)

    @classmethod
    def catalog(cls, item_ids: np.ndarray, items: pd.DataFrame | None, *, name: str = "catalog") -> "Dataset":
        """Items only, under the given index order: for encoding a catalog whose interactions live
        elsewhere (the Spark engine indexes them itself)."""
        notes: list[str] = []
        table = _align_items(items, np.asarray(item_ids), notes)
        empty = pd.DataFrame({"user": pd.Series(dtype=np.int32), "item": pd.Series(dtype=np.int32),
                              "rating": pd.Series(dtype=np.float32), "timestamp": pd.Series(dtype=np.int64)})
        return cls(empty, table, np.array([]), np.asarray(item_ids), name=name, notes=notes)

    # ------------------------------------------------------------------ sizes and ids
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_interactions(self) -> int:
        return len(self.interactions)

    def user_index(self, raw_ids: Any) -> np.ndarray:
        """Indices of raw user ids; an unknown id raises a DataError that names it."""
        return _lookup(self.user_ids, raw_ids, "user")

    def item_index(self, raw_ids: Any) -> np.ndarray:
        """Indices of raw item ids; an unknown id raises a DataError that names it."""
        return _lookup(self.item_ids, raw_ids, "item")

    # ------------------------------------------------------------------ matrices
    def matrix(self, rows: pd.DataFrame | None = None, values: str = "binary") -> sp.csr_matrix:
        """User × item CSR matrix of ``rows`` (default: all interactions).

        ``values``: ``"binary"`` (1 per user-item pair, duplicates collapsed), ``"rating"``
        (the latest rating of the pair) or ``"timestamp"`` (the latest time of the pair).
        """
        return interaction_matrix(rows if rows is not None else self.interactions,
                                  self.n_users, self.n_items, values)

    def genre_matrix(self) -> tuple[sp.csr_matrix, list[str]]:
        """Binary item × genre matrix and the genre names (sorted)."""
        genres = self.items["genres"] if "genres" in self.items.columns else pd.Series(
            [[] for _ in range(self.n_items)])
        names = sorted({g for gs in genres for g in gs})
        column = {g: j for j, g in enumerate(names)}
        indptr = [0]
        indices: list[int] = []
        for gs in genres:
            indices.extend(sorted({column[g] for g in gs}))
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.float32)
        return sp.csr_matrix((data, indices, indptr), shape=(self.n_items, len(names))), names

    def item_text(self, fields: tuple[str, ...] = ("title", "genres", "tags"), sep: str = " | ") -> list[str]:
        """One text per item: the non-empty ``fields`` joined by ``sep`` (lists joined by ", ")."""
        parts = []
        for name in fields:
            if name not in self.items.columns:
                continue
            column = self.items[name]
            parts.append([", ".join(v) if isinstance(v, (list, tuple, np.ndarray)) else
                          ("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
                          for v in column])
        if not parts:
            return [""] * self.n_items
        return [sep.join(p for p in row if p) for row in zip(*parts)]

    def summary(self) -> dict[str, Any]:
        """Counts, density and per-user / per-item activity distributions."""
        per_user = np.bincount(self.interactions["user"], minlength=self.n_users)
        per_item = np.bincount(self.interactions["item"], minlength=self.n_items)

        def describe(counts: np.ndarray) -> dict[str, float]:
            return {
                "min": int(counts.min()), "median": float(np.median(counts)),
                "mean": float(counts.mean()), "max": int(counts.max()),
            }

        ratings = self.interactions["rating"]
        return {
            "name": self.name,
            "preset": self.preset,
            "n_users": self.n_users,
            "n_items": self.n_items,
            "n_interactions": self.n_interactions,
            "density": self.n_interactions / float(self.n_users * self.n_items),
            "per_user": describe(per_user),
            "per_item": describe(per_item),
            "has_ratings": bool(ratings.nunique() > 1),
            "has_timestamps": bool(self.interactions["timestamp"].nunique() > 1),
            "n_genres": len(self.genre_matrix()[1]),
            "notes": list(self.notes),
        }


def interaction_matrix(rows: pd.DataFrame, n_users: int, n_items: int, values: str = "binary") -> sp.csr_matrix:
    """CSR user × item matrix from an interactions frame (see ``Dataset.matrix``)."""
    if values not in ("binary", "rating", "timestamp"):
        raise ValueError(f"values must be 'binary', 'rating' or 'timestamp', got {values!r}")
    users = rows["user"].to_numpy()
    items = rows["item"].to_numpy()
    if values == "binary":
        data = np.ones(len(rows), dtype=np.float32)
        matrix = sp.csr_matrix((data, (users, items)), shape=(n_users, n_items), dtype=np.float32)
        matrix.data[:] = 1.0  # duplicates were summed; a pair counts once
        return matrix
    # Latest value of each pair: order by time, keep the last occurrence of each (user, item).
    order = np.lexsort((rows["timestamp"].to_numpy(), items, users))
    keys = users[order].astype(np.int64) * n_items + items[order]
    last = np.r_[keys[1:] != keys[:-1], True]
    chosen = order[last]
    column = rows["rating" if values == "rating" else "timestamp"].to_numpy()[chosen]
    dtype = np.float32 if values == "rating" else np.float64
    return sp.csr_matrix((column.astype(dtype), (users[chosen], items[chosen])), shape=(n_users, n_items))


def _lookup(known: np.ndarray, raw_ids: Any, kind: str) -> np.ndarray:
    scalar = np.ndim(raw_ids) == 0
    wanted = [raw_ids] if scalar else list(raw_ids)
    index = pd.Index(known)
    positions = index.get_indexer(wanted)
    if (positions < 0).any() and len(known) and isinstance(known[0], (np.integer, int)):
        # Ids typed in a box or read from YAML arrive as strings: retry them as numbers.
        retry = [int(w) if isinstance(w, str) and w.strip().lstrip("-").isdigit() else w for w in wanted]
        positions = index.get_indexer(retry)
    if (positions < 0).any():
        unknown = [str(w) for w, p in zip(wanted, positions) if p < 0][:5]
        raise DataError(f"unknown {kind} id(s): {', '.join(unknown)}; "
                        f"this dataset has {len(known)} {kind}s (e.g. {', '.join(map(str, known[:3]))})")
    return positions


def _align_items(items: pd.DataFrame | None, item_ids: np.ndarray, notes: list[str]) -> pd.DataFrame:
    """Item table with exactly one row per catalog item, in index order."""
    base = pd.DataFrame({"item_id": item_ids})
    if items is None or len(items) == 0:
        base["title"] = [str(i) for i in item_ids]
        base["genres"] = [[] for _ in item_ids]
        return base
    if "item_id" not in items.columns:
        raise DataError(f"the item table lacks an 'item_id' column; its columns are: "
                        f"{', '.join(map(str, items.columns))}")
    table = _same_id_type(items.drop_duplicates("item_id", keep="first"), item_ids, notes)
    known = table["item_id"].isin(item_ids)
    if (~known).any():
        notes.append(f"{int((~known).sum())} item-table rows have no interactions and were left out of the catalog")
    rows = table[known]
    merged = base.merge(rows.astype({"item_id": np.int64}) if np.asarray(item_ids).dtype.kind in "iu" else rows,
                        on="item_id", how="left")
    missing = merged.columns.difference(["item_id"])
    if len(missing) and merged[missing].isna().all(axis=1).any():
        count = int(merged[missing].isna().all(axis=1).sum())
        notes.append(f"{count} interacted items are missing from the item table (they get their id as title)")
    if "title" not in merged.columns:
        merged["title"] = merged["item_id"].astype(str)
    merged["title"] = [str(t) if isinstance(t, str) else str(i)
                       for t, i in zip(merged["title"], merged["item_id"])]
    merged["genres"] = [_as_list(g) for g in (merged["genres"] if "genres" in merged.columns
                                              else [None] * len(merged))]
    return merged


def _same_id_type(table: pd.DataFrame, item_ids: np.ndarray, notes: list[str]) -> pd.DataFrame:
    """The item table with ids comparable to the catalog's, so that ``4`` matches ``"4"``.

    One side may be numbers and the other text (an item file with some ids that are not
    numbers); such ids are compared as text (``"1.0"`` was already written ``"1"`` by the
    loader). An unmatched item-table id that is a catalog id's number spelled another way
    (``"01"`` for ``1``) is named in a note.
    """
    catalog = np.asarray(item_ids)
    ids = table["item_id"]
    numeric = catalog.dtype.kind in "iu"
    if numeric != (ids.dtype.kind in "iu"):
        text = ids.astype(str).str.strip()
        lookup = dict(zip(pd.Series(catalog).astype(str), catalog)) if numeric else {}
        table = table.assign(item_id=[lookup.get(v, v) for v in text] if numeric else text)
    unmatched = pd.Series(table["item_id"][~table["item_id"].isin(catalog)].unique())
    numbers = pd.to_numeric(unmatched.astype(str), errors="coerce")
    apart = unmatched[numbers.isin(pd.to_numeric(pd.Series(catalog).astype(str), errors="coerce").dropna())]
    if len(apart):
        notes.append(f"item-table id {apart.iloc[0]!r} is an interacted item's number written another way, "
                     f"so it is not matched ({len(apart)} such id{'s' * (len(apart) > 1)}); write each id "
                     f"the same way in both files")
    return table


def _as_list(value: Any) -> list[str]:
    """Genres as a list: lists pass through; strings split on ``|`` or ``,``; else empty."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        sep = "|" if "|" in value else ","
        return [g.strip() for g in value.split(sep)
                if g.strip() and g.strip() != "(no genres listed)"]
    return []
