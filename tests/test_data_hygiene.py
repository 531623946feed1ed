"""Ids that mean "missing", and one id written two ways (issue 14, item 7).

``""``, ``nan``, ``NaN``, ``None``, ``NULL``, ``N/A`` and whitespace-only ids are missing in
every reader (CSV, TSV, Parquet, JSON Lines) and in both files: the rows are dropped and
counted in the notes, never kept as an id named "nan". ``1`` and ``1.0`` are one id, in one
file or across the interaction and item files; when ids cannot be unified a note names them.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from genre.data import load_dataset, load_interactions
from genre.errors import DataError

MISSING = ["", "nan", "NaN", "None", "NULL", "N/A", "   "]


def _upload(name: str, data: bytes | str) -> io.BytesIO:
    buffer = io.BytesIO(data.encode() if isinstance(data, str) else data)
    buffer.name = name
    return buffer


def _frame() -> pd.DataFrame:
    """Three good rows, then one row per missing spelling in the user column and in the item column."""
    good = [("u1", "i1", 5.0), ("u1", "i2", 3.0), ("u2", "i1", 4.0)]
    bad = [(m, "i2", 1.0) for m in MISSING] + [("u2", m, 1.0) for m in MISSING]
    return pd.DataFrame(good + bad, columns=["user_id", "item_id", "rating"])


def _as(fmt: str, frame: pd.DataFrame) -> io.BytesIO:
    if fmt == "csv":
        return _upload("log.csv", frame.to_csv(index=False))
    if fmt == "tsv":
        return _upload("log.tsv", frame.to_csv(index=False, sep="\t"))
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return _upload("log.parquet", buffer.getvalue())
    return _upload("log.jsonl", "".join(json.dumps(r) + "\n" for r in frame.to_dict("records")))


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "jsonl"])
def test_missing_words_are_missing_ids_in_every_reader(fmt):
    ds = load_dataset(_as(fmt, _frame()))
    assert ds.user_ids.tolist() == ["u1", "u2"] and ds.item_ids.tolist() == ["i1", "i2"]
    assert ds.n_interactions == 3
    dropped = [n for n in ds.notes if "without an id" in n]
    assert len(dropped) == 1 and dropped[0].startswith(f"{_as(fmt, _frame()).name}: dropped 14 rows without an id (")
    assert "'NULL'" in dropped[0] and "'nan'" in dropped[0]


def test_real_missing_values_in_typed_files():
    """Parquet/JSON nulls and float NaN ids (a numeric column with gaps) are missing too."""
    frame = pd.DataFrame({"user": ["a", None, "b", "c"], "item": [1.0, 2.0, np.nan, 2.0]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    ds = load_dataset(_upload("log.parquet", buffer.getvalue()))
    assert ds.user_ids.tolist() == ["a", "c"] and ds.item_ids.tolist() == [1, 2]
    assert ds.item_ids.dtype == np.int64  # 1.0 and 2.0 are the ids 1 and 2, not "1.0"
    assert "log.parquet: dropped 2 rows without an id" in ds.notes
    jsonl = '{"user": "a", "item": 1}\n{"user": null, "item": 2}\n{"user": "b", "item": "NaN"}\n'
    ds = load_dataset(_upload("log.jsonl", jsonl))
    assert ds.user_ids.tolist() == ["a"]
    assert "log.jsonl: dropped 2 rows without an id (1 written as 'NaN')" in ds.notes


def test_low_level_reader_refuses_missing_words_unless_told_to_drop():
    source = _upload("r.csv", "user,item\n1,2\nNULL,3\n")
    with pytest.raises(DataError, match="column 'user' row 2 has no id"):
        load_interactions(source)
    assert load_interactions(source, drop_missing_ids=True)["user"].tolist() == [1]


def test_item_rows_with_a_missing_word_id_are_dropped_and_counted():
    ds = load_dataset(_upload("r.csv", "user,item\n1,10\n1,11\n"),
                      items=_upload("i.csv", "item_id,title\n10,Ten\nnan,Ghost\nN/A,Other\n11,Eleven\n"))
    assert ds.items["title"].tolist() == ["Ten", "Eleven"]
    assert "i.csv: dropped 2 rows without an id (2 written as 'N/A', 'nan')" in ds.notes


def test_a_column_of_missing_words_is_an_error():
    with pytest.raises(DataError, match=r"column 'user' is empty \(or 'NULL', 'nan'\) in every row"):
        load_dataset(_upload("r.csv", "user,item\nnan,1\nNULL,2\n"))


# ---------------------------------------------------------------------------- 1 and 1.0
def test_one_and_one_point_zero_in_one_file_are_one_id():
    ds = load_dataset(_upload("r.csv", "user,item\n1,1\n1.0,2\n2,2.0\n"))
    assert ds.user_ids.tolist() == [1, 2] and ds.item_ids.tolist() == [1, 2]
    assert ds.matrix().nnz == 3
    assert "r.csv: column 'user' spells one number in several ways ('1', '1.0'); they are read as the same id" \
        in ds.notes


def test_one_and_one_point_zero_among_text_ids_are_one_id():
    ds = load_dataset(_upload("r.csv", "user,item\n1,a\n1.0,b\nx,a\n"))
    assert ds.user_ids.tolist() == ["1", "x"]


@pytest.mark.parametrize("interactions, items", [
    ("user,item\na,1\na,2\n", "id,title\n1.0,One\n2.0,Two\n"),           # numbers vs numbers written as floats
    ("user,item\na,1.0\na,2.0\n", "id,title\n1,One\n2,Two\n"),
    ("user,item\na,1\na,2\n", "id,title\n1.0,One\n2,Two\nx,Unplayed\n"),  # item file also has text ids
    ("user,item\na,1\na,y\n", "id,title\n1.0,One\ny,Why\n"),             # interactions have text ids
])
def test_one_and_one_point_zero_across_files_are_one_id(interactions, items):
    ds = load_dataset(_upload("r.csv", interactions), items=_upload("i.csv", items))
    assert ds.items["title"].tolist()[:1] == ["One"]
    assert not any("missing from the item table" in n for n in ds.notes)


def test_the_same_item_under_text_and_float_types_in_parquet_and_csv():
    buffer = io.BytesIO()
    pd.DataFrame({"user": ["a", "b"], "item": [1.0, 2.0]}).to_parquet(buffer, index=False)
    ds = load_dataset(_upload("r.parquet", buffer.getvalue()), items=_upload("i.csv", "item_id,title\n1,One\n2,Two\n"))
    assert ds.items["title"].tolist() == ["One", "Two"]


def test_ids_that_cannot_be_unified_are_named():
    ds = load_dataset(_upload("r.csv", "user,item\n01,a\n1,b\nx,a\n"))
    assert ds.user_ids.tolist() == ["01", "1", "x"]
    assert ("r.csv: column 'user' holds '01' and '1', kept as different ids because the column also holds ids "
            "that are not numbers (such as 'x'); write each id one way to join them") in ds.notes
    ds = load_dataset(_upload("r.csv", "user,item\na,1\na,2\n"), items=_upload("i.csv", "id,title\n01,One\nx,X\n"))
    assert ("item-table id '01' is an interacted item's number written another way, so it is not matched "
            "(1 such id); write each id the same way in both files") in ds.notes
