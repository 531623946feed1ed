"""Loading files into canonical tables and into a ``Dataset`` (``load_dataset``: the one entry point)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from genre.data.cleaning import CleaningOptions, clean
from genre.data.columns import ColumnMapping
from genre.data.dataset import Dataset
from genre.data.formats import Loaded, detect_preset, load_preset
from genre.data.guess import guess_tables
from genre.data.mapping import guess_mapping, interactions_from_table, items_from_table
from genre.data.readers import DEFAULT_MAX_BYTES, Source, list_sources, read_table, source_name
from genre.data.tags import index_tags, item_tag_text
from genre.data.timestamps import has_time, time_note
from genre.errors import DataError

logger = logging.getLogger("genre")


def load_interactions(
    source: Source,
    mapping: ColumnMapping | dict[str, Any] | None = None,
    *,
    encoding: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    drop_missing_ids: bool = False,
) -> pd.DataFrame:
    """Read one interaction file into canonical columns.

    Parameters
    ----------
    source : path or binary file-like
        CSV, TSV, Parquet or JSON Lines (by extension, else recognised from the content).
    mapping : ColumnMapping or dict, optional
        Column names; unset fields are guessed (see ``guess_mapping``).
    encoding, max_bytes
        See ``read_table``.
    drop_missing_ids : bool
        Drop rows without a user or item id instead of raising a ``DataError``.

    Returns
    -------
    DataFrame
        ``user``, ``item`` (raw ids: int64 when all are integers, else str), ``rating``
        (float32, 1.0 without a rating column), ``timestamp`` (int64 epoch seconds, 0 without one).

    Examples
    --------
    >>> import io
    >>> upload = io.BytesIO(b"uid,iid,stars\\n1,10,4.5\\n2,10,3\\n")
    >>> upload.name = "clicks.csv"
    >>> load_interactions(upload, {"rating": "stars"})["rating"].tolist()
    [4.5, 3.0]
    """
    raw = read_table(source, encoding=encoding, max_bytes=max_bytes)
    frame, notes = interactions_from_table(raw, _mapping(mapping), source=source_name(source),
                                           drop_missing_ids=drop_missing_ids)
    for note in notes:
        logger.info(note)
    return frame


def load_items(
    source: Source,
    mapping: ColumnMapping | dict[str, Any] | None = None,
    *,
    encoding: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> pd.DataFrame:
    """Read one item file: ``item_id``, ``title``, ``genres`` (list of str, split on ``|`` or ``,``),
    ``tags``, ``description``, then ``image`` and the ``extra`` columns when mapped."""
    raw = read_table(source, encoding=encoding, max_bytes=max_bytes)
    frame, notes = items_from_table(raw, _mapping(mapping), source=source_name(source))
    for note in notes:
        logger.info(note)
    return frame


def load_dataset(
    source: Source | list[Source],
    *,
    items: Source | None = None,
    mapping: ColumnMapping | dict[str, Any] | None = None,
    cleaning: CleaningOptions | dict[str, Any] | None = None,
    encoding: str | None = None,
    name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Dataset:
    """Load a folder, a file or a list of files (paths or named file-likes) into a ``Dataset``.

    A known layout (``detect_preset``: MovieLens, ml-100k, RecBole, MIND) is read as such.
    Otherwise the interactions are the one file with user and item columns and the item table
    is ``items`` or the file with an item-id column (preferring one with titles, genres or text).
    The interactions are then cleaned (``cleaning``), indexed, and any user tags attached
    (``Dataset.tags``, and their per-item text in ``items["tags"]``). What was dropped or
    assumed is listed in ``Dataset.notes``.

    Examples
    --------
    >>> import io
    >>> upload = io.BytesIO(b"user,item,rating\\na,1,5\\na,2,3\\nb,1,4\\n")
    >>> upload.name = "ratings.csv"
    >>> ds = load_dataset(upload, cleaning={"min_rating": 4})
    >>> ds.n_users, ds.n_items, ds.notes[-1]
    (2, 1, 'kept the 2 interactions rated 4 or more (dropped 1)')
    """
    mapping, options = _mapping(mapping), _cleaning(cleaning)
    files = list_sources(source)
    if not files:
        raise DataError(f"{source}: no data files found (looked for .csv, .tsv, .parquet, .jsonl ...)")
    preset = None if items is not None else detect_preset(files)
    read = {"encoding": encoding, "max_bytes": max_bytes}
    if preset:
        loaded = load_preset(preset, files, mapping=mapping, drop_missing_ids=options.drop_missing_ids, **read)
    else:
        loaded = _load_tables(files, items, mapping, options.drop_missing_ids, read)
    frame, notes = clean(loaded.interactions, options)
    notes = _time_notes(frame) + notes
    dataset = Dataset.from_frame(frame, loaded.items, name=name or _default_name(source, files),
                                 preset=preset, notes=loaded.notes + notes)
    dataset.value_column = loaded.value_column
    if loaded.tags is not None:
        dataset.tags, more = index_tags(loaded.tags, dataset)
        dataset.notes.extend(more)
        dataset.items["tags"] = item_tag_text(dataset)
    logger.info("loaded %s: %d users, %d items, %d interactions", dataset.name, dataset.n_users,
                dataset.n_items, dataset.n_interactions)
    return dataset


def _load_tables(files: list[Source], items: Source | None, mapping: ColumnMapping,
                 drop_missing_ids: bool, read: dict) -> Loaded:
    """Interactions and item table of files that follow no preset."""
    if items is not None and len(files) != 1:
        raise DataError(f"give one interaction file together with items=; got {len(files)} files")
    tables = [(source_name(f), read_table(f, **read)) for f in files]
    if items is not None:
        tables.append((source_name(items), read_table(items, **read)))
        chosen, item_table = 0, 1
    elif len(tables) == 1:
        chosen, item_table = 0, None
    else:
        chosen, item_table = _roles(tables, mapping)
    name, raw = tables[chosen]
    item_name, item_raw = tables[item_table] if item_table is not None else ("", None)
    guess = guess_tables(raw, item_raw, mapping, names=(name, item_name))
    frame, notes = interactions_from_table(raw, guess.mapping, source=name, drop_missing_ids=drop_missing_ids)
    notes.insert(0, guess.explanation)
    table = None
    if item_raw is not None:
        table, more = items_from_table(item_raw, guess.mapping, source=item_name)
        notes.extend(more)
    ignored = [n for i, (n, _) in enumerate(tables) if i not in (chosen, item_table)]
    if ignored:
        notes.append(f"not used: {', '.join(ignored)} (neither interactions nor the item table)")
    value_column = guess.mapping.rating if guess.mapping.rating in raw.columns else None
    return Loaded(frame, table, notes=notes, value_column=value_column)


def _time_notes(frame: pd.DataFrame) -> list[str]:
    """What the data's lack of time rules out (``genre.data.timestamps``), or nothing."""
    return [] if has_time(frame) else [time_note()]


def _roles(tables: list[tuple[str, pd.DataFrame]], mapping: ColumnMapping) -> tuple[int, int | None]:
    """Positions of the interaction table (user and item columns) and of the item table, if any."""
    guesses = [guess_mapping(raw.columns, mapping) for _, raw in tables]
    names = [name for name, _ in tables]
    interactions = [i for i, ((_, raw), g) in enumerate(zip(tables, guesses))
                    if g.user in raw.columns and g.item in raw.columns]
    if not interactions:  # one file with users, whose item column pairing by value may find
        interactions = [i for i, ((_, raw), g) in enumerate(zip(tables, guesses)) if g.user in raw.columns]
    if len(interactions) != 1:
        found = ", ".join(names[i] for i in interactions) or "none"
        raise DataError(f"expected one file with user and item columns among {', '.join(names)} "
                        f"(found: {found}); load the interaction file and give the item file as items=")
    candidates = [i for i, ((_, raw), g) in enumerate(zip(tables, guesses))
                  if i != interactions[0] and g.item_id in raw.columns]
    described = [i for i in candidates if any(getattr(guesses[i], f) in tables[i][1].columns
                                              for f in ("title", "genres", "tags", "description"))]
    items = described or candidates
    if len(items) > 1:
        raise DataError(f"several files could be the item table ({', '.join(names[i] for i in items)}); "
                        f"give the one to use as items=")
    return interactions[0], (items[0] if items else None)


def _default_name(source: Source | list[Source], files: list[Source]) -> str:
    """The folder's name, else the first file's stem."""
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        return Path(source).name
    return Path(source_name(files[0])).stem


def _mapping(mapping: ColumnMapping | dict[str, Any] | None) -> ColumnMapping:
    return mapping if isinstance(mapping, ColumnMapping) else ColumnMapping.from_dict(mapping)


def _cleaning(cleaning: CleaningOptions | dict[str, Any] | None) -> CleaningOptions:
    return cleaning if isinstance(cleaning, CleaningOptions) else CleaningOptions.from_dict(cleaning)
