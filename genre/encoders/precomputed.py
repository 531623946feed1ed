"""Bring-your-own vectors: item embeddings computed elsewhere, aligned to the catalog.

Two layouts: a ``.npy`` matrix (one row per id) plus an id list (a text file with one id per
line, or a CSV column), or a Parquet file with an id column and a list/array vector column.
Vectors are matched to the dataset's item ids as text; catalog items without a vector get a
zero row and are counted (``missing``), vectors of ids outside the catalog are ignored and
counted (``extra``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from genre.constraints import COLUMN, PATH, Constraints, Text
from genre.encoders.base import Progress, l2_normalize, report_progress
from genre.errors import DataError


def _read_ids(path: Path, id_column: str) -> list[str]:
    """The id list, one per vector row; any reading failure becomes a DataError naming the file."""

    try:
        if path.suffix.lower() in (".csv", ".tsv"):
            frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",", dtype=str)
            if id_column not in frame.columns:
                raise DataError(f"{path.name} has no column {id_column!r} (its columns: "
                                f"{', '.join(map(str, frame.columns))}); pass id_column=")
            return frame[id_column].fillna("").str.strip().tolist()
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"the id list {path.name} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        f"save it as UTF-8") from exc
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot read the id list {path.name}: {exc}; pass a text file with one item id "
                        f"per line or a CSV with an {id_column!r} column") from exc
    return [line.strip() for line in lines if line.strip()]


def _load_npy(path: Path) -> np.ndarray:
    """``np.load`` of a plain ``.npy`` after checking its header against the file: an ``.npz``
    archive, or a header declaring more bytes than the file holds (a forged shape would make
    numpy allocate terabytes), is a DataError, not a MemoryError or AttributeError."""
    with open(path, "rb") as handle:
        if handle.read(4) == b"PK\x03\x04":
            raise DataError(f"{path.name} is not a readable .npy file: it is an .npz archive of several arrays; "
                            f"save the vectors with np.save(path, vectors)")
        handle.seek(0)
        if handle.read(6) != np.lib.format.MAGIC_PREFIX:
            return np.load(path, allow_pickle=False)  # not .npy at all: numpy's own refusal (pickles too)
        handle.seek(0)
        version = np.lib.format.read_magic(handle)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(handle)
        if dtype.hasobject:
            raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
        declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
        held = path.stat().st_size - handle.tell()
    if declared != held:
        raise DataError(f"{path.name} is not a readable .npy file: its header declares shape {tuple(shape)} ({declared:,} bytes) but the "
                        f"file holds {held:,} bytes of data; the file is damaged: save it again with np.save")
    return np.load(path, allow_pickle=False)


def load_vectors(path: str | os.PathLike[str], ids: str | os.PathLike[str] | None = None,
                 id_column: str = "item_id", vector_column: str = "vector") -> tuple[list[str], np.ndarray]:
    """Read (ids as text, float32 matrix) from ``.npy`` + id list, or from Parquet.

    Raises
    ------
    DataError
        Unreadable file, object-dtype ``.npy`` (pickled data is never loaded), ids and rows that
        do not pair up, duplicate ids, ragged or non-finite vectors.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"vector file {path} does not exist")
    if path.suffix.lower() == ".parquet":

        try:
            table = pq.read_table(path, columns=[id_column, vector_column])
        except Exception as exc:  # missing column, not parquet
            raise DataError(f"cannot read columns {id_column!r} and {vector_column!r} from {path.name}: "
                            f"{exc}; pass id_column= and vector_column=") from exc
        id_list = [str(v).strip() for v in table.column(id_column).to_pylist()]
        rows = table.column(vector_column).to_pylist()
        try:
            matrix = np.array(rows, dtype=np.float32)
        except (ValueError, TypeError) as exc:
            raise DataError(f"column {vector_column!r} of {path.name} must hold equal-length numeric "
                            f"lists ({exc})") from exc
    else:
        try:
            matrix = _load_npy(path)
        except ValueError as exc:
            if "allow_pickle" not in str(exc):
                raise DataError(f"{path.name} is not a readable .npy file: {exc}") from exc
            raise DataError(f"{path.name} holds Python objects (object dtype), which GENRE never "
                            f"unpickles; save a plain numeric array, e.g. "
                            f"np.save(path, vectors.astype('float32'))") from exc
        except OSError as exc:
            raise DataError(f"{path.name} is not a readable .npy file: {exc}") from exc
        if not np.issubdtype(matrix.dtype, np.number):
            raise DataError(f"{path.name} holds {matrix.dtype} values; vectors must be numbers")
        if ids is None:
            raise DataError(f"{path.name} needs an id list: pass ids= a text file with one item id per "
                            f"line (in row order) or a CSV with an {id_column!r} column")
        id_list = _read_ids(Path(ids), id_column)
        matrix = matrix.astype(np.float32)
    if matrix.ndim != 2 or len(matrix) != len(id_list):
        raise DataError(f"{path.name} has shape {matrix.shape} but {len(id_list)} ids: expected one "
                        f"row of a 2-D matrix per id")
    if not np.isfinite(matrix).all():
        raise DataError(f"{path.name} has NaN or infinite values in {int((~np.isfinite(matrix)).any(1).sum())} rows")
    seen: set[str] = set()
    duplicates = [i for i in id_list if i in seen or seen.add(i)]
    if duplicates:
        raise DataError(f"{len(duplicates)} ids appear twice in the id list (e.g. {duplicates[0]!r}); "
                        f"keep one vector per item")
    return id_list, matrix


class PrecomputedEncoder:
    """Vectors read from a file, looked up by item id.

    ``encode(item_ids)`` returns one L2-normalized row per id; ``last_report`` then holds
    ``missing`` (ids without a vector: zero rows), ``extra`` (file ids not asked for) and
    ``flags`` (the missing rows).

    Parameters
    ----------
    path : str or path
        ``.npy`` matrix or ``.parquet`` table.
    ids : str or path, optional
        For ``.npy``: a text file with one id per line, or a CSV/TSV with ``id_column``.
    id_column, vector_column : str
        Column names in the CSV / Parquet.

    Examples
    --------
    >>> enc = PrecomputedEncoder("vectors.npy", ids="ids.txt")  # doctest: +SKIP
    >>> enc.encode(dataset.item_ids).shape                      # doctest: +SKIP
    (9724, 64)
    """

    cacheable = False

    _parameter_constraints: ClassVar[Constraints] = {
        "path": PATH, "ids": Text(max_chars=PATH.max_chars, none_ok=True), "id_column": COLUMN,
        "vector_column": COLUMN}

    def __init__(self, path: str | os.PathLike[str], ids: str | os.PathLike[str] | None = None,
                 id_column: str = "item_id", vector_column: str = "vector") -> None:
        self.path = path
        self.ids = ids
        self.id_column = id_column
        self.vector_column = vector_column
        id_list, matrix = load_vectors(path, ids, id_column, vector_column)
        self.row_of_ = {item: row for row, item in enumerate(id_list)}
        self.vectors_ = l2_normalize(matrix)
        self.dim = int(matrix.shape[1])
        self.id = f"precomputed:{Path(path).name}:{hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]}"
        self.last_report: dict[str, Any] = {}

    def encode(self, inputs: Sequence[Any], progress: Progress | None = None) -> np.ndarray:
        """Rows for the item ids in ``inputs`` (matched as text)."""
        report_progress(progress, 0, len(inputs), "precomputed: aligning")
        rows = np.array([self.row_of_.get(str(i).strip(), -1) for i in inputs], dtype=np.int64)
        flags = rows < 0
        out = np.zeros((len(inputs), self.dim), dtype=np.float32)
        out[~flags] = self.vectors_[rows[~flags]]
        asked = {str(i).strip() for i in inputs}
        self.last_report = {"missing": int(flags.sum()), "extra": sum(i not in asked for i in self.row_of_),
                            "flags": flags}
        report_progress(progress, len(inputs), len(inputs), "precomputed: done")
        return out
