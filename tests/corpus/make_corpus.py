"""Build the big or binary files of the hostile-input corpus (``cases.yaml`` names them).

The small text cases are committed under ``tests/corpus/files/``; the ones that are big (a
10 MB field), binary (Parquet, zip, ``.npy``, images, SQLite) or in another text encoding are
made here, at test time, into a temporary folder, so the repository stays small.

Files that carry a pickle payload create ``PWNED-<name>`` in their folder *if* something ever
unpickles them: the tests check that no such file appears. The payload only touches that
file (``pathlib.Path.touch``); it runs nothing else.

Run ``python tests/corpus/make_corpus.py OUT_DIR`` to look at the files by hand.
"""

from __future__ import annotations

import io
import pickle
import struct
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

TEN_MB = 10_000_000
#: ``max_bytes`` the over-the-limit case is read with (its file is a little larger).
UPLOAD_LIMIT = 1_000_000


class _Touch:
    """Unpickling this calls ``Path(marker).touch()``: proof that something unpickled it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def marker(folder: Path, name: str) -> Path:
    """The file a pickle payload of ``name`` would create."""
    return folder / f"PWNED-{name}"


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _ratings_parquet() -> bytes:
    return _parquet(pa.table({"user": np.arange(300) % 7, "item": np.arange(300) % 11,
                              "rating": np.ones(300)}))


def _rows_bomb(rows: int = 50_000_000, group: int = 1_000_000) -> bytes:
    """~0.5 MB of Parquet holding ``rows`` identical rows (RLE): a decoded-size bomb."""
    buffer = io.BytesIO()
    chunk = pa.table({"user": np.zeros(group, dtype=np.int64), "item": np.zeros(group, dtype=np.int64)})
    with pq.ParquetWriter(buffer, chunk.schema, compression="zstd") as writer:
        for _ in range(rows // group):
            writer.write_table(chunk, row_group_size=group)
    return buffer.getvalue()


def _dictionary_bomb(rows: int = 1000, size: int = 1 << 20) -> bytes:
    """A few KB of Parquet whose text column repeats one ``size``-byte string ``rows`` times."""
    titles = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * size]))
    buffer = io.BytesIO()
    pq.write_table(pa.table({"user": np.arange(rows), "item": np.arange(rows), "title": titles}), buffer,
                   compression="zstd")
    return buffer.getvalue()


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def _set_sizes(data: bytes, size: int, local: bool) -> bytes:
    """Rewrite every entry's declared uncompressed size (central directory, and local headers)."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)) if local else ((b"PK\x01\x02", 24),):
        position = out.find(signature)
        while position >= 0:
            out[position + offset:position + offset + 4] = struct.pack("<I", size)
            position = out.find(signature, position + 4)
    return bytes(out)


def _png(width: int, height: int, pixels: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels))
            + chunk(b"IEND", b""))


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _sqlite_garbage() -> bytes:
    """The first page of an SQLite file followed by noise: a database cut off mid-write."""
    return b"SQLite format 3\x00" + bytes(range(256)) * 16


_RATINGS = "user,item,title\n1,10,Café crème\n1,11,Über\n2,10,Niño\n"

#: file name → bytes (the folder is given for the pickle payload's marker path).
GENERATORS: dict[str, Callable[[Path], bytes]] = {
    # text in other encodings, and bytes that are no text
    "latin1.csv": lambda folder: _RATINGS.encode("latin-1"),
    "utf16_bom.csv": lambda folder: _RATINGS.encode("utf-16"),
    "utf16_no_bom.csv": lambda folder: _RATINGS.encode("utf-16-le"),
    "random_bytes.csv": lambda folder: np.random.default_rng(7).bytes(4096),
    # size
    "big_field.csv": lambda folder: b"user,item,title\n1,10," + b"x" * TEN_MB + b"\n2,11,short\n",
    "big_id.csv": lambda folder: b"user,item\n" + b"7" * TEN_MB + b",10\n2,11\n",
    "over_limit.csv": lambda folder: b"user,item\n" + b"1,10\n" * (UPLOAD_LIMIT // 5 + 100),
    "bomb_rows.parquet": lambda folder: _rows_bomb(),
    "bomb_dictionary.parquet": lambda folder: _dictionary_bomb(),
    "bomb_new_key_per_line.jsonl": lambda folder: b"".join(b'{"user": 1, "item": 2, "k%d": 0}\n' % i
                                                            for i in range(12_000)),
    "bomb_wide_header.csv": lambda folder: (",".join(f"c{i}" for i in range(60_000)) + "\n"
                                            + ",".join("1" for _ in range(60_000)) + "\n").encode(),
    "cr_only.csv": lambda folder: b"user,item,rating\r1,10,4\r2,11,5\r",
    "deep_nesting.jsonl": lambda folder: b'{"user": ' + b"[" * 100_000 + b"]" * 100_000 + b', "item": 1}\n',
    # Parquet
    "truncated.parquet": lambda folder: _ratings_parquet()[:-300],
    "corrupt.parquet": lambda folder: _ratings_parquet()[:8] + b"\xff" * 600 + _ratings_parquet()[-8:],
    "duplicate_columns.parquet": lambda folder: _parquet(
        pa.table([pa.array([1, 2]), pa.array([10, 11]), pa.array([12, 13])], names=["user", "item", "item"])),
    "list_ids.parquet": lambda folder: _parquet(pa.table({"user": [[1], [2, 3]], "item": [10, 11]})),
    "binary_ids.parquet": lambda folder: _parquet(pa.table({"user": [b"\x01", b"\xff"], "item": [10, 11]})),
    "map_ids.parquet": lambda folder: _parquet(pa.table({
        "user": pa.array([[("a", 1)], [("b", 2)]], pa.map_(pa.string(), pa.int64())), "item": [10, 11]})),
    "pickle.parquet": lambda folder: pickle.dumps(_Touch(marker(folder, "pickle.parquet"))),
    "pickle.csv": lambda folder: pickle.dumps(_Touch(marker(folder, "pickle.csv"))),
    # zip archives of images
    "empty.zip": lambda folder: _zip([]),
    "not_a_zip.zip": lambda folder: b"user,item\n1,10\n",
    "zip_traversal.zip": lambda folder: _zip([("../../10.jpg", b"x"), ("11.jpg", b"y")]),
    "zip_absolute.zip": lambda folder: _zip([("/tmp/10.jpg", b"x")]),
    "zip_bomb_declared.zip": lambda folder: _set_sizes(_zip([(f"{i}.png", b"\0" * 64) for i in range(4)]),
                                                      0xFFFF0000, local=False),
    "zip_bomb_lying.zip": lambda folder: _set_sizes(_zip([("10.png", b"\0" * (8 << 20))]), 100, local=True),
    "zip_one_huge_entry.zip": lambda folder: _zip([("10.png", b"\0" * (40 << 20))]),  # ~40 KB on disk
    # images that are not images
    "not_an_image.jpg": lambda folder: b"<html>this is not a picture</html>",
    "truncated.png": lambda folder: _png(64, 64, b"\0" * (64 * (1 + 64 * 3)))[:60],
    "pixel_bomb.png": lambda folder: _png(100_000, 100_000, b"\0" * 100),
    # vectors
    "ids.txt": lambda folder: b"1\n2\n",
    "ids_latin1.txt": lambda folder: "Café\nNiño\n".encode("latin-1"),
    "vectors.npy": lambda folder: _npy(np.ones((2, 4), dtype=np.float32)),
    "object_dtype.npy": lambda folder: _npy(np.array([_Touch(marker(folder, "object_dtype.npy")), None],
                                                     dtype=object)),
    "pickle.npy": lambda folder: pickle.dumps(_Touch(marker(folder, "pickle.npy"))),
    "truncated.npy": lambda folder: _npy(np.ones((2, 4), dtype=np.float32))[:-10],
    "text.npy": lambda folder: _npy(np.array([["a", "b"], ["c", "d"]])),
    "nan.npy": lambda folder: _npy(np.array([[np.nan, 1.0], [0.5, 1.0]])),
    "pickle_vectors.parquet": lambda folder: pickle.dumps(_Touch(marker(folder, "pickle_vectors.parquet"))),
    # configs
    "config_too_big.yaml": lambda folder: b"name: big\n# " + b"x" * 300_000 + b"\n",
    # stores
    "runs.sqlite": lambda folder: _sqlite_garbage(),
    "outputs.sqlite": lambda folder: _sqlite_garbage(),
}


def make_file(name: str, folder: Path) -> Path:
    """Write the generated corpus file ``name`` into ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(GENERATORS[name](folder))
    return path


def make_corpus(folder: Path) -> dict[str, Path]:
    """Write every generated file into ``folder``."""
    return {name: make_file(name, folder) for name in GENERATORS}


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus-out")
    for name, path in make_corpus(target).items():
        print(f"{path.stat().st_size:>12,}  {path}")
