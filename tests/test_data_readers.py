"""Reading table files: formats, file-likes, encodings and every error a person can act on."""

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from genre.data import load_interactions, read_table
from genre.data.readers import detect_format, list_sources
from genre.errors import DataError

ROWS = 300


@pytest.fixture(scope="module")
def ratings_slice(sample_dir) -> pd.DataFrame:
    """The first rows of the sample ratings, typed as pandas reads them."""
    return pd.read_csv(sample_dir / "ratings.csv", nrows=ROWS)


def _upload(name: str, data: bytes) -> io.BytesIO:
    """What the app passes: the uploaded bytes with the file's name."""
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


def _expected(frame: pd.DataFrame) -> dict:
    return {
        "user": frame["userId"].tolist(), "item": frame["movieId"].tolist(),
        "rating": frame["rating"].tolist(), "timestamp": frame["timestamp"].tolist(),
    }


def _as_lists(frame: pd.DataFrame) -> dict:
    return {c: frame[c].tolist() for c in ("user", "item", "rating", "timestamp")}


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "jsonl"])
def test_each_format_gives_the_same_interactions(tmp_path, ratings_slice, fmt):
    path = tmp_path / f"ratings.{fmt}"
    if fmt == "csv":
        ratings_slice.to_csv(path, index=False)
    elif fmt == "tsv":
        ratings_slice.to_csv(path, sep="\t", index=False)
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pandas(ratings_slice), path)
    else:
        ratings_slice.to_json(path, orient="records", lines=True)
    frame = load_interactions(path)
    assert list(frame.columns) == ["user", "item", "rating", "timestamp"]
    assert frame.dtypes.astype(str).tolist() == ["int64", "int64", "float32", "int64"]
    assert _as_lists(frame) == _expected(ratings_slice)
    # The same bytes uploaded through the app (a named file-like) give the same table.
    assert _as_lists(load_interactions(_upload(path.name, path.read_bytes()))) == _expected(ratings_slice)


@pytest.mark.parametrize("fmt", ["tsv", "parquet", "jsonl", "semicolons"])
def test_format_is_sniffed_without_a_known_extension(ratings_slice, fmt):
    buffer = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pandas(ratings_slice), buffer)
    elif fmt == "jsonl":
        ratings_slice.to_json(buffer, orient="records", lines=True)
    else:
        ratings_slice.to_csv(buffer, sep="\t" if fmt == "tsv" else ";", index=False)
    frame = load_interactions(_upload("export.dat", buffer.getvalue()))
    assert _as_lists(frame) == _expected(ratings_slice)


def test_detect_format_by_extension_then_content():
    assert detect_format("a.CSV", b"x") == "csv"
    assert detect_format("a.tsv", b"x") == "tsv"
    assert detect_format("a.pq", b"x") == "parquet"
    assert detect_format("a.ndjson", b"x") == "jsonl"
    assert detect_format("a.bin", b"PAR1....") == "parquet"
    assert detect_format("a", b'  {"a": 1}') == "jsonl"
    assert detect_format("a.txt", b"a;b") == "delimited"


def test_semicolon_csv_and_bom_and_latin1(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffuser;item;title\n1;2;Misérables\n".encode("utf-8"))
    assert read_table(path).to_dict("list") == {"user": ["1"], "item": ["2"], "title": ["Misérables"]}
    path.write_bytes("user,item,title\n1,2,Misérables\n".encode("latin-1"))
    assert read_table(path, encoding="latin-1")["title"].tolist() == ["Misérables"]


def test_quoted_fields_keep_delimiters_and_newlines(tmp_path):
    path = tmp_path / "movies.csv"
    path.write_text('movieId,title\n1,"American President, The (1995)"\n2,"Two\nlines"\n')
    assert read_table(path)["title"].tolist() == ["American President, The (1995)", "Two\nlines"]


def test_json_array_of_records(tmp_path):
    path = tmp_path / "events.json"
    path.write_text('[{"user": "a", "item": 1}, {"user": "b", "item": 2}]')
    assert load_interactions(path)[["user", "item"]].to_dict("list") == {"user": ["a", "b"], "item": [1, 2]}


def test_list_sources_skips_readmes_and_unknown_files(tmp_path):
    for name in ("ratings.csv", "README.txt", "notes.md", ".hidden.csv", "u.data"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in list_sources(tmp_path)] == ["ratings.csv", "u.data"]
    assert list_sources(["a.csv", "b.csv"]) == ["a.csv", "b.csv"]


# ---------------------------------------------------------------------------- errors
def _error(source, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        read_table(source, **kwargs)
    return str(info.value)


def test_missing_file(tmp_path):
    assert "no such file" in _error(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    (tmp_path / "ratings.csv").write_bytes(b"\n \n")
    assert _error(tmp_path / "ratings.csv") == (
        "ratings.csv: the file is empty; choose the file that holds the data")


def test_header_only(tmp_path):
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating\n")
    assert _error(tmp_path / "ratings.csv") == (
        "ratings.csv: the file has a header (userId, movieId, rating) but no rows of data")


def test_wrong_delimiter_one_column(tmp_path):
    (tmp_path / "ratings.csv").write_text("userId movieId rating\n1 2 3\n")
    message = _error(tmp_path / "ratings.csv")
    assert message.startswith("ratings.csv: only one column was found (header 'userId movieId rating')")
    assert "comma-, tab-, semicolon- or pipe-separated" in message


def test_rows_with_the_wrong_number_of_fields(tmp_path):
    (tmp_path / "ratings.csv").write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
    message = _error(tmp_path / "ratings.csv")
    assert message == ("ratings.csv: row 2 ('4,5') has 2 fields where 3 are expected (1 such rows); "
                       "check the delimiter and the quoting")


def test_repeated_column_name(tmp_path):
    (tmp_path / "ratings.csv").write_text("a,b,a\n1,2,3\n")
    assert "column 'a' appears more than once" in _error(tmp_path / "ratings.csv")


def test_invalid_utf8_names_the_byte_and_the_fix(tmp_path):
    data = b"movieId,title\n1,Toy Story\n2,Mis" + "érables".encode("latin-1") + b"\n"
    (tmp_path / "movies.csv").write_bytes(data)
    position = data.index("é".encode("latin-1"))
    assert _error(tmp_path / "movies.csv") == (
        f"movies.csv: not valid UTF-8 at byte {position}; try encoding latin-1 "
        "(or the encoding the file was saved with)")


def test_unknown_encoding(tmp_path):
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    assert "unknown encoding 'klingon'" in _error(tmp_path / "a.csv", encoding="klingon")


def test_truncated_and_fake_parquet(tmp_path, ratings_slice):
    path = tmp_path / "ratings.parquet"
    pq.write_table(pa.Table.from_pandas(ratings_slice), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert _error(path).startswith("ratings.parquet: not a valid Parquet file (truncated, or not Parquet")
    path.write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")
    assert _error(path).startswith("ratings.parquet: the Parquet file cannot be read (")


def test_invalid_json_lines_names_the_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"user": 1, "item": 2}\n\n{"user": 2, "item": 3}\n{"user": 3, "item": }\n')
    message = _error(path)
    assert message.startswith("events.jsonl: line 4 is not valid JSON (")
    path.write_text('{"user": 1, "item": 2}\n[1, 2]\n')
    assert _error(path) == "events.jsonl: line 2 is a JSON list, not an object with named fields"


def test_size_limit(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("a,b\n" + "1,2\n" * 100)
    assert _error(path, max_bytes=100) == (
        "ratings.csv: the file is over the limit of 100 bytes (404 bytes or more); "
        "load a sample of it, or raise the limit (max_bytes=404)")
    assert _error(_upload("big.csv", path.read_bytes()), max_bytes=100).startswith(
        "big.csv: the file is over the limit of 100 bytes (404 bytes")
    assert len(read_table(path, max_bytes=404)) == 100


def test_no_pandas_or_pyarrow_exception_escapes_on_garbage(tmp_path):
    for name, data in [("x.csv", b'a,b\n"1,2\n'), ("x.parquet", b"garbage"), ("x.jsonl", b"{]"),
                       ("x.bin", b"\x00\x01\x02\xff\xfe")]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError, match=name.replace(".", r"\.")):
            read_table(tmp_path / name)
