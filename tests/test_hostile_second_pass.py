"""Issue 22, "Safe to host, second pass": findings 1, 2, 4 and 5 of the hostile-user probe.

Each test failed on the code before the fix. Bomb files are built here (small on disk); the
readers must refuse them quickly, with a one-line ``DataError`` naming the limit's setting,
and without the memory the decoded table would take.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from genre.data import read_table
from genre.errors import DataError

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
from make_corpus import GENERATORS  # noqa: E402


def _named(data: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


def _refused(name: str, setting: str, *, seconds: float = 10.0, rss_mb: float = 300.0) -> str:
    """Read corpus bomb ``name``; it must raise a one-line DataError naming ``setting``, quickly and
    without growing the process by more than ``rss_mb``."""
    data = GENERATORS[name](Path("."))
    process = psutil.Process()
    before, start = process.memory_info().rss, time.perf_counter()
    with pytest.raises(DataError) as caught:
        read_table(_named(data, name))
    elapsed, grown = time.perf_counter() - start, (process.memory_info().rss - before) / 2**20
    message = str(caught.value)
    assert setting in message and "\n" not in message, message
    assert elapsed < seconds, f"{name}: {elapsed:.1f} s"
    assert grown < rss_mb, f"{name}: RSS grew {grown:.0f} MB"
    return message


# ---------------------------------------------------------------- 2. decoded-size limits
def test_parquet_of_50m_identical_rows_is_refused_on_its_metadata():
    assert len(GENERATORS["bomb_rows.parquet"](Path("."))) < 2_000_000  # small on disk
    _refused("bomb_rows.parquet", "GENRE_MAX_ROWS")


def test_parquet_of_dictionary_encoded_mebibyte_strings_is_refused_before_expanding():
    assert len(GENERATORS["bomb_dictionary.parquet"](Path("."))) < 50_000
    _refused("bomb_dictionary.parquet", "GENRE_MAX_DECODED_MB")


def test_jsonl_with_a_new_key_per_line_is_refused_while_reading():
    _refused("bomb_new_key_per_line.jsonl", "GENRE_MAX_COLUMNS", seconds=3)


def test_csv_with_a_60000_column_header_is_refused_at_once():
    _refused("bomb_wide_header.csv", "GENRE_MAX_COLUMNS", seconds=2)


def test_duplicate_column_check_is_linear(monkeypatch):
    monkeypatch.setenv("GENRE_MAX_COLUMNS", "100000")
    header = ",".join(f"c{i}" for i in range(60_000))
    start = time.perf_counter()
    frame = read_table(_named(f"{header}\n{','.join('1' * 60_000)}\n".encode(), "wide.csv"))
    assert frame.shape == (1, 60_000) and time.perf_counter() - start < 20


def test_the_limits_follow_their_environment_variables(monkeypatch):
    data = b"user,item,title\n1,10,abcdefghij\n2,11,x\n3,12,y\n"
    monkeypatch.setenv("GENRE_MAX_ROWS", "2")
    with pytest.raises(DataError, match="GENRE_MAX_ROWS"):
        read_table(_named(data, "r.csv"))
    monkeypatch.delenv("GENRE_MAX_ROWS")
    monkeypatch.setenv("GENRE_MAX_CELL_BYTES", "5")
    with pytest.raises(DataError, match="GENRE_MAX_CELL_BYTES"):
        read_table(_named(data, "r.csv"))
    monkeypatch.setenv("GENRE_MAX_CELL_BYTES", "lots")
    with pytest.raises(DataError, match="GENRE_MAX_CELL_BYTES='lots' is not a number"):
        read_table(_named(data, "r.csv"))


def test_a_preview_decodes_only_its_head():
    """The Data page's preview (ui.cache.read_head) reads ``max_rows`` rows: a 50M-row file
    previews its first 200 rows without decoding the rest."""
    data = GENERATORS["bomb_rows.parquet"](Path("."))
    rss = psutil.Process().memory_info().rss
    head = read_table(_named(data, "bomb_rows.parquet"), max_rows=200)
    assert len(head) == 200 and (psutil.Process().memory_info().rss - rss) < 200 * 2**20
    lines = b"user,item\n" + b"1,2\n" * 100_000
    assert len(read_table(_named(lines, "r.csv"), max_rows=200)) == 200
    assert len(read_table(_named(b'{"user": 1, "item": 2}\n' * 1000, "r.jsonl"), max_rows=7)) == 7


def test_data_page_preview_is_bounded(monkeypatch):
    from ui import cache

    calls = []
    monkeypatch.setattr("genre.data.read_table", lambda source, **kw: calls.append(kw) or pd.DataFrame({"a": [1]}))
    cache.read_head.clear()
    cache.read_head("x.csv", b"a\n1\n", rows=200)
    assert calls == [{"max_rows": 200}]


# ---------------------------------------------------------------- 1. LLM outputs per owner
def test_llm_output_cache_rows_and_export_belong_to_their_owner(tmp_path):
    from genre.llm import OutputCache

    alice = OutputCache(tmp_path, owner="session-alice")
    alice.put("http://10.0.0.5:8000/v1#secret-model", "alice's private prompt", 24, 0.0, "alice's output")
    bob = OutputCache(tmp_path, owner="session-bob")
    assert bob.get("http://10.0.0.5:8000/v1#secret-model", "alice's private prompt", 24, 0.0) is None
    assert len(bob) == 0 and bob.models() == {}
    exported = io.StringIO()
    bob.export_csv(exported)
    assert "alice" not in exported.getvalue() and "10.0.0.5" not in exported.getvalue()
    assert "secret-model" not in exported.getvalue()
    mine = io.StringIO()
    alice.for_owner("session-alice").export_csv(mine)
    assert "alice's output" in mine.getvalue()
    assert alice.models() == {"http://10.0.0.5:8000/v1#secret-model": 1}
    assert OutputCache(tmp_path).models() == {}  # the CLI's own space sees no session's rows


def test_llm_output_cache_from_before_owners_goes_to_the_operator(tmp_path):
    import sqlite3

    db = sqlite3.connect(tmp_path / "outputs.sqlite")
    db.execute("CREATE TABLE outputs (model_id TEXT NOT NULL, key TEXT NOT NULL, prompt TEXT NOT NULL, "
               "max_tokens INTEGER NOT NULL, temperature REAL NOT NULL, output TEXT NOT NULL, "
               "created REAL NOT NULL, PRIMARY KEY (model_id, key))")
    from genre.llm.cache import prompt_key

    db.execute("INSERT INTO outputs VALUES ('m', ?, 'p', 8, 0.0, 'old', 1.0)", (prompt_key("p", 8, 0.0),))
    db.commit()
    db.close()
    from genre.llm import OutputCache

    assert OutputCache(tmp_path).get("m", "p", 8, 0.0) == "old"
    assert OutputCache(tmp_path, owner="session-x").get("m", "p", 8, 0.0) is None


def test_app_llm_cache_is_the_sessions_owners(monkeypatch, tmp_path):
    """The Encoders & LLM page's cache (status, generation, 'Export the whole LLM output cache')
    is ``ui.cache.output_cache()``: the session owner's rows only."""
    from genre.llm import OutputCache
    from ui import cache, state

    shared = OutputCache(tmp_path)
    monkeypatch.setattr(cache, "_shared_output_cache", lambda: shared)
    monkeypatch.setattr(state, "owner", lambda: "session-one")
    cache.output_cache().put("m", "one's prompt", 8, 0.0, "one's output")
    monkeypatch.setattr(state, "owner", lambda: "session-two")
    assert cache.output_cache().models() == {}
    from ui import llm

    assert b"one's" not in llm.cache_csv()


def test_tagging_results_are_keyed_by_the_data_not_its_name(monkeypatch):
    from genre.data import Dataset
    from ui import cache

    def dataset(titles):
        raw = pd.DataFrame({"user": [1, 2], "item": [10, 11]})
        items = pd.DataFrame({"item_id": [10, 11], "title": titles, "genres": [["Drama"], ["Comedy"]]})
        return Dataset.from_frame(raw, items, name="ratings.csv")

    seen = []
    monkeypatch.setattr(cache, "_tagging_quality", lambda digest, *rest: seen.append(digest) or digest)
    first = cache.tagging_quality(dataset(["Alice's secret", "b"]), "minilm", ("title",))
    second = cache.tagging_quality(dataset(["Bob's film", "b"]), "minilm", ("title",))
    again = cache.tagging_quality(dataset(["Alice's secret", "b"]), "minilm", ("title",))
    assert first != second and first == again


def test_tagging_digest_covers_texts_genres_and_labels():
    from genre.llm.tagging import tagging_input_digest

    base = tagging_input_digest(["a", "b"], np.array([[1, 0], [0, 1]]), ["Drama", "Comedy"])
    assert base != tagging_input_digest(["ab", ""], np.array([[1, 0], [0, 1]]), ["Drama", "Comedy"])
    assert base != tagging_input_digest(["a", "b"], np.array([[0, 1], [1, 0]]), ["Drama", "Comedy"])
    assert base != tagging_input_digest(["a", "b"], np.array([[1, 0], [0, 1]]), ["Comedy", "Drama"])
