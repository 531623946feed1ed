"""Well-known dataset layouts, recognised by their file names.

``movielens``       ml-latest(-small): ratings.csv, movies.csv, tags.csv
``movielens-100k``  ml-100k: u.data (tab-separated), u.item (``|``-separated, latin-1, 19 genre flags)
``recbole``         RecBole atomic files: ``*.inter``, ``*.item`` with ``name:type`` headers
``mind``            Microsoft News: behaviors.tsv, news.tsv (no headers)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from genre.data.mapping import (INTERACTION_FIELDS, ColumnMapping, guess_mapping, interactions_from_table,
                                items_from_table, tags_from_table, to_timestamps)
from genre.data.readers import DEFAULT_MAX_BYTES, Source, list_sources, read_table, source_name
from genre.errors import DataError

PRESETS = ("movielens", "movielens-100k", "recbole", "mind")

#: ml-100k genre flag columns in u.item order (as listed in its u.genre).
ML100K_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                 "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
                 "Romance", "Sci-Fi", "Thriller", "War", "Western")
_MIND_TIME = "%m/%d/%Y %I:%M:%S %p"


@dataclass
class Loaded:
    """Canonical raw-id tables read from a set of files, before cleaning and indexing."""

    interactions: pd.DataFrame
    items: pd.DataFrame | None = None
    tags: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    value_column: str | None = None  # the source column read as ``rating``, when there is one


def detect_preset(paths: Source | list[Source]) -> str | None:
    """The preset a folder, file or list of files follows (see ``PRESETS``), or None.

    Examples
    --------
    >>> detect_preset(["ratings.csv", "movies.csv", "tags.csv"])
    'movielens'
    >>> detect_preset(["clicks.parquet"]) is None
    True
    """
    names = {source_name(s).lower() for s in list_sources(paths)}
    if "u.data" in names:
        return "movielens-100k"
    if "behaviors.tsv" in names:
        return "mind"
    if any(n.endswith(".inter") for n in names):
        return "recbole"
    if "ratings.csv" in names and names & {"movies.csv", "tags.csv"}:
        return "movielens"
    return None


def load_preset(
    preset: str,
    files: list[Source],
    *,
    mapping: ColumnMapping | None = None,
    encoding: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    drop_missing_ids: bool = True,
) -> Loaded:
    """Read ``files`` laid out as ``preset``.

    ``mapping`` overrides the column guesses of the presets with named columns (MovieLens,
    RecBole); ml-100k and MIND files have no header, so their columns are fixed.
    """
    readers = {"movielens": _movielens, "movielens-100k": _movielens_100k, "recbole": _recbole,
               "mind": _mind}
    if preset not in readers:
        raise DataError(f"unknown preset {preset!r}; the presets are: {', '.join(PRESETS)}")
    by_name = {source_name(f).lower(): f for f in files}
    options = {"encoding": encoding, "max_bytes": max_bytes}
    return readers[preset](by_name, mapping, options, drop_missing_ids)


def _movielens(files: dict[str, Source], mapping, options, drop_missing_ids) -> Loaded:
    interactions, notes = interactions_from_table(read_table(files["ratings.csv"], **options), mapping,
                                                  source="ratings.csv", drop_missing_ids=drop_missing_ids)
    loaded = Loaded(interactions, notes=notes)
    if "movies.csv" in files:
        loaded.items, more = items_from_table(read_table(files["movies.csv"], **options), mapping,
                                              source="movies.csv")
        loaded.notes.extend(more)
    if "tags.csv" in files:
        loaded.tags, more = tags_from_table(read_table(files["tags.csv"], **options), source="tags.csv")
        loaded.notes.extend(more)
    return loaded


def _movielens_100k(files: dict[str, Source], mapping, options, drop_missing_ids) -> Loaded:
    raw = read_table(files["u.data"], header=False, names=list(INTERACTION_FIELDS),
                     sep="\t", **options)
    interactions, notes = interactions_from_table(raw, source="u.data", drop_missing_ids=drop_missing_ids)
    loaded = Loaded(interactions, notes=notes)
    if "u.item" not in files:
        return loaded
    columns = ["item_id", "title", "release_date", "video_release_date", "imdb_url"]
    raw = read_table(files["u.item"], header=False, names=columns + list(ML100K_GENRES), sep="|",
                     encoding=options["encoding"] or "latin-1", quotes=False,
                     max_bytes=options["max_bytes"])
    flags = raw[list(ML100K_GENRES)].eq("1").to_numpy()
    names = np.asarray(ML100K_GENRES, dtype=object)
    genres = [[g for g in names[row] if g != "unknown"] for row in flags]
    table = pd.DataFrame({"item_id": raw["item_id"], "title": raw["title"],
                          "genres": pd.Series(genres, index=raw.index, dtype=object)})
    loaded.items, more = items_from_table(table, source="u.item")
    loaded.notes.extend(more)
    return loaded


def _recbole(files: dict[str, Source], mapping, options, drop_missing_ids) -> Loaded:
    """Atomic files: tab-separated, headers ``name:type``; ``token_seq`` genres are split on spaces.

    Several ``.inter`` files (a RecBole train/valid/test split) are read as one table.
    """
    frames, notes = [], []
    for name in sorted(n for n in files if n.endswith(".inter")):
        raw, _ = _atomic(files[name], options)
        frame, more = interactions_from_table(raw, mapping, source=name, drop_missing_ids=drop_missing_ids)
        frames.append(frame)
        notes.extend(more)
    if len(frames) > 1:
        notes.append(f"{len(frames)} .inter files were read as one interaction table")
    loaded = Loaded(pd.concat(frames, ignore_index=True), notes=notes)
    item_files = sorted(n for n in files if n.endswith(".item"))
    if len(item_files) > 1:
        raise DataError(f"several RecBole item files ({', '.join(item_files)}); give only one")
    if item_files:
        raw, types = _atomic(files[item_files[0]], options)
        column = guess_mapping(raw.columns, mapping).genres
        if column and types.get(column, "").endswith("_seq"):
            raw[column] = pd.Series([g.split() if isinstance(g, str) else [] for g in raw[column]],
                                    dtype=object)
        loaded.items, more = items_from_table(raw, mapping, source=item_files[0])
        loaded.notes.extend(more)
    return loaded


def _atomic(source: Source, options: dict) -> tuple[pd.DataFrame, dict[str, str]]:
    """A RecBole atomic file with the ``:type`` suffixes cut from its column names, and the types."""
    raw = read_table(source, sep="\t", **options)
    split = [str(c).split(":", 1) for c in raw.columns]
    raw.columns = [parts[0] for parts in split]
    return raw, {parts[0]: parts[1] if len(parts) > 1 else "" for parts in split}


def _tokens(column: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """The space-separated tokens of every cell, and the row position each token comes from."""
    lists = pc.split_pattern(pa.array(column, type=pa.string(), from_pandas=True), " ")
    rows, tokens = pc.list_parent_indices(lists).to_numpy(), pc.list_flatten(lists)
    keep = np.asarray(pc.not_equal(tokens, ""))
    return rows[keep], tokens.filter(keep)


def _mind(files: dict[str, Source], mapping, options, drop_missing_ids) -> Loaded:
    """MIND: every clicked impression (``N123-1``) at the impression's time, plus every history item.

    A history lists the user's clicks from before the logging window and is repeated in each of
    the user's impressions, so each (user, history item) pair is kept once, dated one second
    before the user's first impression: it sorts before everything the user did in the window.
    Shown-but-not-clicked impressions (``-0``) are not interactions.
    """
    names = ["impression_id", "user", "time", "history", "impressions"]
    raw = read_table(files["behaviors.tsv"], header=False, names=names, sep="\t", **options)
    times, _ = to_timestamps(raw["time"], "time", "behaviors.tsv", time_format=_MIND_TIME)
    first = pd.Series(times).groupby(raw["user"].to_numpy(), dropna=False).transform("min").to_numpy() - 1
    users = raw["user"].to_numpy()
    distinct = raw.drop_duplicates(["user", "history"]).index.to_numpy()
    rows, items = _tokens(raw["history"].iloc[distinct])
    history = pd.DataFrame({"user": users[distinct[rows]], "item": items.to_pandas().array,
                            "timestamp": first[distinct[rows]]}).drop_duplicates(["user", "item"])
    rows, shown = _tokens(raw["impressions"])
    click = np.asarray(pc.ends_with(shown, "-1"))
    items = pc.utf8_slice_codeunits(shown.filter(click), 0, -2)
    clicked = pd.DataFrame({"user": users[rows[click]], "item": items.to_pandas().array,
                            "timestamp": times[rows[click]]})
    table = pd.concat([history, clicked])[["user", "item", "timestamp"]]
    table = table.sort_values("timestamp", kind="stable").reset_index(drop=True)
    interactions, notes = interactions_from_table(
        table, ColumnMapping(user="user", item="item", rating="", timestamp="timestamp"),
        source="behaviors.tsv", drop_missing_ids=drop_missing_ids)
    notes.append(f"behaviors.tsv: {len(clicked)} clicked impressions and {len(history)} history items "
                 f"(dated just before each user's first impression)")
    if len(shown) and not np.asarray(pc.match_substring(shown, "-")).any():
        notes.append("behaviors.tsv: the impressions carry no click labels (a MIND test set?); "
                     "only the histories were used")
    loaded = Loaded(interactions, notes=notes)
    if "news.tsv" in files:
        columns = ["news_id", "category", "subcategory", "title", "abstract", "url",
                   "title_entities", "abstract_entities"]
        news = read_table(files["news.tsv"], header=False, names=columns, sep="\t", **options)
        loaded.items, more = items_from_table(
            news, ColumnMapping(item_id="news_id", title="title", genres="category", tags="",
                                description="abstract", image="", extra=["subcategory"]),
            source="news.tsv")
        loaded.notes.extend(more)
    return loaded

