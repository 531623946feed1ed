"""Reading one table file (CSV, TSV, Parquet, JSON Lines) into a raw DataFrame.

Every failure becomes a ``DataError`` that names the file and says what to do; no pandas or
pyarrow exception escapes. Nothing is ever unpickled. Delimited files are read with every
column as text, so that ids keep their exact spelling until ``genre.data.mapping`` types them.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from itertools import islice
from pathlib import Path
from typing import IO, Union

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from genre.data.limits import Limits, check_table, check_unique, read_parquet
from genre.errors import DataError

#: Files larger than this (bytes) are refused unless the caller raises the limit.
DEFAULT_MAX_BYTES = 500_000_000

#: A file path, or an open binary file-like object (its ``name`` attribute, if any, is used).
Source = Union[str, os.PathLike, IO[bytes]]

_EXTENSION_FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".inter": "tsv", ".item": "tsv", ".user": "tsv",
    ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}
_DELIMITERS = {"csv": ",", "tsv": "\t"}
_CANDIDATE_DELIMITERS = (",", "\t", ";", "|")
_PARQUET_MAGIC = b"PAR1"
_NUL_MESSAGE = ("{name}: the file holds NUL bytes, so it is binary (not a text table) or UTF-16 without "
                "a byte-order mark; save it as UTF-8 text (or give encoding='utf-16-le')")
_BLOCK_SIZE = 1 << 20  # pyarrow's default CSV block; a longer row is retried as one block


#: Suffixes of the files a folder is searched for (README and licence files are skipped).
TABLE_SUFFIXES = frozenset(_EXTENSION_FORMATS) | {".txt", ".dat", ".data", ".genre"}


def list_sources(source: Source | list[Source]) -> list[Source]:
    """The files behind ``source``: a folder's table files (sorted), one file, or a list as given.

    A blank path is an error, never the working directory (``Path("")`` is ``.``).
    """
    for one in source if isinstance(source, (list, tuple)) else [source]:
        if isinstance(one, (str, os.PathLike)) and not os.fspath(one).strip():
            raise DataError("a data path is empty: give a folder or a data file")
    if isinstance(source, (list, tuple)):
        return list(source)
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        return [p for p in sorted(Path(source).iterdir())
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in TABLE_SUFFIXES
                and not p.name.lower().startswith(("readme", "licen"))]
    return [source]


def source_name(source: Source) -> str:
    """The file name shown in messages: the path's name, or a file-like's ``name`` attribute."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) and name else "uploaded file"


def read_bytes(source: Source, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """All bytes of ``source``, refusing anything over ``max_bytes``."""
    name = source_name(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        _check_size(name, path.stat().st_size, max_bytes)
        return path.read_bytes()
    if not hasattr(source, "read"):
        raise DataError(f"cannot read a {type(source).__name__}: give a file path, or an open binary file "
                        f"(e.g. io.BytesIO with a name)")
    if getattr(source, "seekable", lambda: False)():
        _check_size(name, source.seek(0, io.SEEK_END), max_bytes)
        source.seek(0)
    data = source.read(max_bytes + 1)
    data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    _check_size(name, len(data), max_bytes)
    return data


def _check_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise DataError(f"{name}: the file is over the limit of {_size(max_bytes)} ({_size(size)} or more); "
                        f"load a sample of it, or raise the limit (max_bytes={size})")


def _size(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n:,} bytes"


def detect_format(name: str, head: bytes) -> str:
    """``"csv"``, ``"tsv"``, ``"delimited"`` (delimiter to sniff), ``"parquet"`` or ``"jsonl"``.

    The extension decides; a file without a known one is recognised by its first bytes.
    """
    fmt = _EXTENSION_FORMATS.get(Path(name).suffix.lower())
    if fmt:
        return fmt
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.lstrip()[:1] in (b"{", b"["):
        return "jsonl"
    return "delimited"


def read_table(
    source: Source,
    *,
    header: bool = True,
    names: list[str] | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    quotes: bool | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int | None = None,
) -> pd.DataFrame:
    """Read one table file into a DataFrame (delimited files: every column as text).

    Parameters
    ----------
    source : path or binary file-like
        The file; a file-like's ``name`` gives its extension (``io.BytesIO`` with ``.name`` set,
        or a Streamlit upload).
    header, names : bool, list of str
        Delimited files without a header row (``header=False``) get the column ``names``.
    sep : str, optional
        Delimiter; by default ``,`` for ``.csv``, tab for ``.tsv``, else sniffed from the first line.
    encoding : str, optional
        Text encoding; UTF-8 (with or without BOM) by default.
    quotes : bool, optional
        Whether ``"`` quotes fields; by default not in tab-separated files (where a title may
        start with ``"``), and yes with any other delimiter.
    max_bytes : int
        Refuse larger files.
    max_rows : int, optional
        Read only the first ``max_rows`` rows (a preview): the rest is never decoded.

    Decoding is bounded while reading (``genre.data.limits``: ``GENRE_MAX_ROWS``,
    ``GENRE_MAX_COLUMNS``, ``GENRE_MAX_CELL_BYTES``, ``GENRE_MAX_DECODED_MB``).

    Returns
    -------
    DataFrame
        Rows with a default RangeIndex, so that row ``i`` of the data is ``index == i``.
    """
    name = source_name(source)
    data = read_bytes(source, max_bytes)
    if not data.strip():
        raise DataError(f"{name}: the file is empty; choose the file that holds the data")
    fmt = detect_format(name, data[:64])
    limits = Limits.from_env()
    if fmt == "parquet":
        frame = _read_parquet(name, data, limits, max_rows)
    else:
        text = _decode(name, data, encoding)
        if fmt == "jsonl":
            frame = _read_json(name, text, limits, max_rows)
        else:
            if "\r" in text and "\n" not in text:  # CR-only line ends (classic Mac): read as lines
                text, data = text.replace("\r", "\n"), data.replace(b"\r", b"\n")
            delimiter = sep or _delimiter(fmt, text)
            utf8 = data if _is_plain_utf8(data, encoding) else text.encode("utf-8")
            frame = _read_delimited(name, utf8, delimiter, header, names,
                                    delimiter != "\t" if quotes is None else quotes, limits, max_rows)
    if len(frame) == 0:
        columns = ", ".join(map(str, frame.columns))
        has = f"a header ({columns}) but no" if len(frame.columns) else "no"
        raise DataError(f"{name}: the file has {has} rows of data")
    return frame


def _decode(name: str, data: bytes, encoding: str | None) -> str:
    if encoding is None:
        encoding = "utf-16" if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8"
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise DataError(f"{name}: unknown encoding {encoding!r}; use e.g. utf-8, latin-1 or cp1252") from None
    try:
        text = data.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as exc:
        if b"\x00" in data[:4096]:
            raise DataError(_NUL_MESSAGE.format(name=name)) from None
        label = "UTF-8" if codec == "utf-8" else encoding
        hint = "latin-1" if label == "UTF-8" else "utf-8"
        raise DataError(
            f"{name}: not valid {label} at byte {exc.start}; try encoding {hint} "
            f"(or the encoding the file was saved with)"
        ) from None
    if "\x00" in text:  # valid UTF-8, but no text table holds NUL characters
        raise DataError(_NUL_MESSAGE.format(name=name))
    return text


def _is_plain_utf8(data: bytes, encoding: str | None) -> bool:
    """True when ``data`` can go to the CSV parser as it is (UTF-8 without a BOM)."""
    return (encoding is None or codecs.lookup(encoding).name == "utf-8") and not data.startswith(
        (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def _delimiter(fmt: str, text: str) -> str:
    """The format's delimiter, unless the first line clearly uses another one (e.g. ``;``)."""
    first = text.split("\n", 1)[0]
    default = _DELIMITERS.get(fmt)
    if default and default in first:
        return default
    counts = {d: first.count(d) for d in _CANDIDATE_DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else (default or ",")


def _read_delimited(name: str, data: bytes, sep: str, header: bool, names: list[str] | None,
                    quotes: bool, limits: Limits, max_rows: int | None = None) -> pd.DataFrame:
    """Every column as text (pyarrow's CSV reader: ~10x faster than typing columns in pandas),
    read block by block with a running count of rows and decoded bytes."""
    first = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    if header:
        limits.check_columns(name, first.count(sep) + 1)  # before splitting a 60,000-column header
        try:
            names = [c.strip() for c in next(csv.reader([first], delimiter=sep,
                                                        quoting=csv.QUOTE_MINIMAL if quotes else csv.QUOTE_NONE))]
        except csv.Error as exc:
            raise DataError(f"{name}: the header row cannot be read ({exc}); save the file as plain "
                            f"{_label(sep)}-separated text with one row per line") from None
        _check_unique(name, names)
        if len(names) == 1:
            raise DataError(f"{name}: only one column was found (header {first[:80]!r}): the file is not "
                            f"{_label(sep)}-separated; save it comma-, tab-, semicolon- or pipe-separated")
    names = list(names or [])
    bad_rows = []

    def invalid(row) -> str:
        bad_rows.append(row)
        return "skip"

    limits.check_columns(name, len(names))

    def parse(block_size: int) -> pa.Table:
        reader = pcsv.open_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(column_names=names, skip_rows=1 if header else 0, use_threads=False,
                                          block_size=block_size),
            parse_options=pcsv.ParseOptions(delimiter=sep, quote_char='"' if quotes else False,
                                            newlines_in_values=quotes, invalid_row_handler=invalid),
            convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                                null_values=[""], strings_can_be_null=True),
        )
        tables, rows, decoded = [], 0, 0
        for batch in reader:
            table = pa.Table.from_batches([batch])
            if max_rows is not None:
                table = table.slice(0, max_rows - rows)
            else:
                limits.check_rows(name, rows + table.num_rows)
            decoded = check_table(name, table, limits, decoded)
            tables.append(table)
            rows += table.num_rows
            if max_rows is not None and rows >= max_rows:
                break
        return pa.concat_tables(tables) if tables else reader.schema.empty_table()

    try:
        try:
            table = parse(_BLOCK_SIZE)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc):
                raise
            bad_rows.clear()  # a row longer than a block (a huge field): parse as one block
            table = parse(min(len(data) + 1, 2**31 - 1))
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(f"{name}: cannot read the file as {_label(sep)}-separated text ({exc}); "
                        f"check the delimiter and the quoting") from None
    if bad_rows:
        row = bad_rows[0]
        where = f"row {row.number - 1 if header else row.number}" if row.number is not None else "a row"
        fix = ("a quote (\") opened there is never closed: close it, or remove it" if "\n" in row.text
               else "check the delimiter and the quoting")
        raise DataError(f"{name}: {where} ({row.text[:80]!r}) has {row.actual_columns} fields where "
                        f"{row.expected_columns} are expected ({len(bad_rows)} such rows); {fix}")
    return table.to_pandas()


_check_unique = check_unique  # linear time (genre.data.limits)


def _label(sep: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(sep, repr(sep))


def _read_parquet(name: str, data: bytes, limits: Limits, max_rows: int | None = None) -> pd.DataFrame:
    if not (data.startswith(_PARQUET_MAGIC) and data.endswith(_PARQUET_MAGIC)):
        raise DataError(f"{name}: not a valid Parquet file (truncated, or not Parquet at all); "
                        f"export it again, or save it as CSV")
    try:
        return read_parquet(name, pa.BufferReader(data), limits, max_rows)
    except (pa.ArrowException, OSError, ValueError, TypeError, KeyError) as exc:
        raise DataError(f"{name}: the Parquet file cannot be read ({exc}); "
                        f"export it again, or save it as CSV") from None


def _read_json(name: str, text: str, limits: Limits, max_rows: int | None = None) -> pd.DataFrame:
    """JSON Lines (one object per line) or one JSON array of objects; distinct keys are bounded
    while reading (one new key per line would make the table quadratic)."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(stripped)
            if isinstance(records, list) and max_rows is not None:
                records = records[:max_rows]
            return _records(name, records, lambda i: f"element {i + 1}", limits)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":  # else: JSON Lines whose first line is an array
                raise DataError(f"{name}: invalid JSON at line {exc.lineno} ({exc.msg})") from None
        except RecursionError:
            raise DataError(f"{name}: the JSON is nested too deeply to be a table; give one flat "
                            f"object per row") from None
    records, lines, keys = [], [], set()
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 may sit in a string
        if not line.strip():
            continue
        if max_rows is not None and len(records) >= max_rows:
            break
        try:
            record = json.loads(line)
            records.append(record)
            if isinstance(record, dict):
                keys.update(islice(record, limits.columns + 1))
                limits.check_columns(name, len(keys))
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}: line {number} is not valid JSON ({exc.msg}, column {exc.colno}); "
                            f"JSON Lines needs one complete object per line") from None
        except RecursionError:
            raise DataError(f"{name}: line {number} is nested too deeply to be a table row; give one "
                            f"flat object per line") from None
        lines.append(number)
        limits.check_rows(name, len(records))
    return _records(name, records, lambda i: f"line {lines[i]}", limits)


def _records(name: str, records: object, where, limits: Limits) -> pd.DataFrame:
    if not isinstance(records, list):
        raise DataError(f"{name}: expected JSON objects (one per line, or an array of them)")
    limits.check_rows(name, len(records))
    keys: set = set()
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise DataError(f"{name}: {where(i)} is a JSON {type(record).__name__}, not an object "
                            f"with named fields")
        keys.update(islice(record, limits.columns + 1))
        limits.check_columns(name, len(keys))
    return pd.DataFrame.from_records(records)
