"""Decoded-size limits of the table readers: rows, columns, bytes per cell and in all.

A small file can decode into gigabytes (a Parquet of 50M identical rows, a dictionary-encoded
column repeating one 1 MiB string, a JSON Lines file adding one key per line), so the readers
count what they decode *while* reading and stop with a one-line ``DataError`` that names the
limit and the environment variable that raises it. Parquet is checked on its metadata first
(rows, columns, uncompressed row-group sizes), then read one row group at a time with string
columns kept dictionary-encoded until their decoded size has been counted.

Environment variables (positive numbers; unset or empty: the default):

- ``GENRE_MAX_ROWS`` (default 30,000,000): rows per table file.
- ``GENRE_MAX_COLUMNS`` (default 1,000): columns per table file (JSON Lines: distinct keys).
- ``GENRE_MAX_CELL_BYTES`` (default 16 MiB): bytes in one text cell.
- ``GENRE_MAX_DECODED_MB`` (default 512): decoded (Arrow) size of one table file in memory.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from genre.errors import DataError

DEFAULT_MAX_ROWS = 30_000_000
DEFAULT_MAX_COLUMNS = 1_000
DEFAULT_MAX_CELL_BYTES = 16 * 2**20  # a 10 MB description still loads (corpus case ten-mb-field)
DEFAULT_MAX_DECODED_MB = 512  # arrow bytes; ml-10m's ratings decode to ~400 MB


def _env_int(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = int(float(raw))
    except ValueError:
        raise DataError(f"{variable}={raw!r} is not a number; set it to a positive number or unset it") from None
    if value <= 0:
        raise DataError(f"{variable}={raw!r} must be above 0")
    return value


@dataclass(frozen=True)
class Limits:
    """What one table file may decode into; ``Limits.from_env()`` reads the environment."""

    rows: int = DEFAULT_MAX_ROWS
    columns: int = DEFAULT_MAX_COLUMNS
    cell_bytes: int = DEFAULT_MAX_CELL_BYTES
    decoded_bytes: int = DEFAULT_MAX_DECODED_MB * 2**20

    @classmethod
    def from_env(cls) -> Limits:
        return cls(_env_int("GENRE_MAX_ROWS", DEFAULT_MAX_ROWS),
                   _env_int("GENRE_MAX_COLUMNS", DEFAULT_MAX_COLUMNS),
                   _env_int("GENRE_MAX_CELL_BYTES", DEFAULT_MAX_CELL_BYTES),
                   _env_int("GENRE_MAX_DECODED_MB", DEFAULT_MAX_DECODED_MB) * 2**20)

    def check_rows(self, name: str, rows: int) -> None:
        if rows > self.rows:
            raise DataError(f"{name}: more than {self.rows:,} rows (the limit GENRE_MAX_ROWS); load a "
                            f"sample of the file, or ask the operator to raise GENRE_MAX_ROWS")

    def check_columns(self, name: str, columns: int) -> None:
        if columns > self.columns:
            raise DataError(f"{name}: more than {self.columns:,} columns (the limit GENRE_MAX_COLUMNS); keep "
                            f"the columns GENRE needs, or ask the operator to raise GENRE_MAX_COLUMNS")

    def check_cell(self, name: str, size: int) -> None:
        if size > self.cell_bytes:
            raise DataError(f"{name}: a cell holds more than {self.cell_bytes:,} bytes (the limit "
                            f"GENRE_MAX_CELL_BYTES); shorten long texts, or ask the operator to raise it")

    def check_decoded(self, name: str, size: int) -> None:
        if size > self.decoded_bytes:
            raise DataError(f"{name}: decodes to more than {self.decoded_bytes / 2**20:,.0f} MB in memory (the "
                            f"limit GENRE_MAX_DECODED_MB); load a sample of the file, or ask the operator "
                            f"to raise GENRE_MAX_DECODED_MB")


def check_unique(name: str, columns: Iterable[str]) -> None:
    """Every column name once (linear time: a 60,000-column header must not take minutes)."""
    counts = Counter(columns)
    repeated = sorted(c for c, n in counts.items() if n > 1)
    if repeated:
        raise DataError(f"{name}: column {repeated[0]!r} appears more than once in the header; "
                        f"give every column its own name")


def check_table(name: str, table: pa.Table, limits: Limits, decoded_so_far: int = 0) -> int:
    """Check ``table``'s cells and add its decoded size to ``decoded_so_far``; returns the new total.

    Dictionary-encoded text columns are measured without expanding them: the decoded size is
    the sum of the lengths of the values the indices point at.
    """
    total = decoded_so_far
    for column in table.columns:
        for chunk in column.chunks:
            total += _decoded_size(name, chunk, limits)
            limits.check_decoded(name, total)
    return total


def _decoded_size(name: str, chunk: pa.Array, limits: Limits) -> int:
    kind = chunk.type
    if pa.types.is_dictionary(kind) and _is_text(kind.value_type):
        lengths = pc.binary_length(chunk.dictionary)
        used = pc.take(lengths, chunk.indices)
        longest = pc.max(used).as_py() or 0
        limits.check_cell(name, longest)
        return int(pc.sum(used).as_py() or 0) + chunk.indices.nbytes
    if _is_text(kind):
        longest = pc.max(pc.binary_length(chunk)).as_py() or 0
        limits.check_cell(name, longest)
    return int(chunk.nbytes)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind) \
        or pa.types.is_large_binary(kind)


def read_parquet(name: str, source: pa.BufferReader, limits: Limits, max_rows: int | None = None) -> pd.DataFrame:
    """A Parquet file read row group by row group under ``limits`` (``max_rows``: only a head)."""
    parquet = pq.ParquetFile(source)
    meta, schema = parquet.metadata, parquet.schema_arrow
    limits.check_columns(name, len(schema.names))
    check_unique(name, schema.names)
    if max_rows is None:
        limits.check_rows(name, meta.num_rows)
    text = [f.name for f in schema if _is_text(f.type)]
    parquet = pq.ParquetFile(source, read_dictionary=text)  # text stays compact until measured
    tables, decoded, rows = [], 0, 0
    for group in range(meta.num_row_groups):
        if max_rows is not None and rows >= max_rows:
            break
        # plain-encoded pages decode to about their uncompressed size: refuse before decoding
        limits.check_decoded(name, decoded + meta.row_group(group).total_byte_size)
        batches = parquet.iter_batches(batch_size=min(max_rows or 65_536, 65_536), row_groups=[group])
        for batch in batches:
            table = pa.Table.from_batches([batch])
            if max_rows is not None:
                table = table.slice(0, max_rows - rows)
            decoded = check_table(name, table, limits, decoded)
            tables.append(table)
            rows += table.num_rows
            if max_rows is not None and rows >= max_rows:
                break
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    table = table.cast(pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
                                  for f in table.schema]))
    return table.to_pandas()
