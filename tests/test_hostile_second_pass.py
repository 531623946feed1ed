"""Issue 22, "Safe to host, second pass": findings 1, 2, 4 and 5 of the hostile-user probe.

Each test failed on the code before the fix. Bomb files are built here (small on disk); the
readers must refuse them quickly, with a one-line ``DataError`` naming the limit's setting,
and without the memory the decoded table would take.
"""

from __future__ import annotations

import io
import os
import subprocess
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
    cache.read_head("x.csv", b"a\n1\n" + str(time.time()).encode(), rows=200)
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


# ---------------------------------------------------------------- 4. uploads
@pytest.fixture
def store(tmp_path, monkeypatch):
    from genre.paths import uploads_dir

    monkeypatch.setenv("GENRE_CACHE_DIR", str(tmp_path))
    for name in ("GENRE_UPLOAD_QUOTA_MB", "GENRE_UPLOAD_MAX_MB", "GENRE_UPLOAD_MAX_AGE_DAYS",
                 "GENRE_UPLOAD_LEASE_HOURS", "GENRE_UPLOAD_MAX_FILES"):
        monkeypatch.delenv(name, raising=False)
    return uploads_dir()


def test_pruning_never_removes_a_file_another_live_session_uses(store, monkeypatch):
    from genre.hosting.uploads import save_uploads

    monkeypatch.setenv("GENRE_UPLOAD_QUOTA_MB", "1")
    alice = save_uploads([_named(b"a" * 600_000, "alice.csv")], lease="session-alice")
    # Bob's upload needs room: before, Alice's file (not in Bob's in_use) was deleted under her
    with pytest.raises(DataError, match="GENRE_UPLOAD_QUOTA_MB"):
        save_uploads([_named(b"b" * 600_000, "bob.csv")], lease="session-bob")
    assert alice[0].is_file()


def test_an_expired_or_released_lease_lets_pruning_reclaim_the_upload(store, monkeypatch):
    from genre.hosting.uploads import release_lease, save_uploads

    monkeypatch.setenv("GENRE_UPLOAD_QUOTA_MB", "1")
    alice = save_uploads([_named(b"a" * 600_000, "alice.csv")], lease="session-alice")
    release_lease("session-alice")
    bob = save_uploads([_named(b"b" * 600_000, "bob.csv")], lease="session-bob")
    assert not alice[0].exists() and bob[0].is_file()
    monkeypatch.setenv("GENRE_UPLOAD_LEASE_HOURS", "0.0001")  # 0.36 s
    time.sleep(0.5)
    carol = save_uploads([_named(b"c" * 600_000, "carol.csv")], lease="session-carol")
    assert not bob[0].exists() and carol[0].is_file()


def test_one_uploader_takes_a_bounded_number_of_files(store, monkeypatch):
    from genre.hosting.uploads import save_uploads

    files = [_named(b"x%d" % i, f"f{i}.csv") for i in range(11)]
    with pytest.raises(DataError, match="GENRE_UPLOAD_MAX_FILES"):
        save_uploads(files)
    monkeypatch.setenv("GENRE_UPLOAD_MAX_FILES", "3")
    with pytest.raises(DataError, match="at most 3"):
        save_uploads(files[:4])
    assert len(save_uploads(files[:3])) == 3


def test_upload_tables_live_in_the_session_not_a_server_wide_cache():
    """ui.cache.read_head was an st.cache_data entry kept after its session ended."""
    from ui import cache

    assert not hasattr(cache.read_head, "clear")  # no longer a server-wide st.cache_data


# ---------------------------------------------------------------- 5. oracles and CLI errors
def test_an_encoder_model_path_is_answered_alike_whether_it_exists_or_not(tmp_path, monkeypatch):
    from genre import paths
    from genre.config import parse_config_text
    from genre.encoders.sentence import resolve_model_dir
    from genre.errors import ConfigError, EncoderError
    from genre.hosting.confine import confine_config

    monkeypatch.setattr(paths, "_PATHS_IN_DATA_CONFINED", True)
    monkeypatch.setenv("GENRE_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "work"
    (work / "secretdir").mkdir(parents=True)
    (work / "secretdir" / "config.json").write_text("{}")
    monkeypatch.chdir(work)

    def answer(model: str) -> str:
        text = (f"data: {{source: {paths.SAMPLE_DATA}}}\nfeatures: {{modalities: [{{name: t, fields: [title], "
                f"encoder: sentence-transformers, params: {{model: {model}}}}}]}}")
        try:
            confine_config(parse_config_text(text))
            resolve_model_dir(model)
        except (ConfigError, EncoderError) as exc:
            return str(exc).replace(model, "<m>")
        return "loaded"

    assert answer("secretdir") == answer("nosuchdir") != "loaded"
    assert str(tmp_path) not in answer("nosuchdir")  # no server cache path in the message
    assert answer(str(work / "secretdir")) == answer(str(work / "nosuchdir"))  # outside the roots


def test_a_config_naming_someone_elses_upload_cannot_tell_whether_it_exists(store):
    from genre.config import parse_config_text
    from genre.errors import ConfigError
    from genre.hosting.confine import confine_config
    from genre.hosting.uploads import save_uploads

    theirs = save_uploads([_named(b"user,item\n1,2\n", "ratings.csv")], lease="someone-else")[0]
    mine = save_uploads([_named(b"user,item\n3,4\n", "mine.csv")], lease="me")[0]
    missing = theirs.parent.parent / ("0" * 16) / "ratings.csv"

    def answer(path) -> str:
        try:
            confine_config(parse_config_text(f"data: {{source: {path}}}"), uploads=[mine.parent])
        except ConfigError as exc:
            return str(exc).replace(str(path), "<p>")
        return "allowed"

    assert answer(theirs) == answer(missing) != "allowed"
    assert answer(mine) == "allowed"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[1]
    env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HOME": str(cwd),
           "GENRE_HOME": str(cwd / "home"), "GENRE_CACHE_DIR": str(cwd / "cache"),
           "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "genre", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=env, check=False)


def _one_line_error(out) -> str:
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    return lines[0]


def test_cli_info_of_an_empty_path_does_not_read_the_working_directory(tmp_path):
    (tmp_path / "ratings.csv").write_text("user,item\n1,2\n")
    assert "empty" in _one_line_error(_cli("info", "", cwd=tmp_path))


def test_cli_reads_a_csv_with_cr_only_line_endings(tmp_path):
    (tmp_path / "r.csv").write_bytes(b"user,item\r1,10\r2,11\r2,12\r")
    out = _cli("info", "r.csv", "--json", cwd=tmp_path)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert '"n_interactions": 3' in out.stdout


def test_embeddings_base_url_with_cr_lf_is_a_one_line_error():
    from genre.encoders.openai_embeddings import OpenAIEmbeddingsEncoder
    from genre.errors import GenreError

    encoder = OpenAIEmbeddingsEncoder(base_url="http://127.0.0.1:9/v1\r\nX-Injected: 1", model="m")
    with pytest.raises(GenreError, match="line break") as caught:
        encoder.encode(["hello"])
    assert "\n" not in str(caught.value) and "\r" not in str(caught.value)


@pytest.mark.parametrize("name, expected", [("forged.npy", "header declares shape"),
                                            ("archive.npy", "npz archive")])
def test_forged_or_archived_precomputed_vectors_are_a_one_line_error(tmp_path, name, expected):
    if name == "forged.npy":
        header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 4), }"
        header += " " * (118 - len(header)) + "\n"
        data = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64
    else:
        buffer = io.BytesIO()
        np.savez(buffer, a=np.ones((2, 4), np.float32))
        data = buffer.getvalue()
    (tmp_path / name).write_bytes(data)
    (tmp_path / "ids.txt").write_text("1\n2\n")
    from genre.encoders.precomputed import load_vectors

    with pytest.raises(DataError, match=expected):
        load_vectors(tmp_path / name, tmp_path / "ids.txt")
    rows = "".join(f"{u},{i}\n" for u in range(1, 8) for i in (1, 2, 3, 4, 5, 6))
    (tmp_path / "r.csv").write_text("user,item\n" + rows)
    (tmp_path / "run.yaml").write_text(
        f"data: {{source: {tmp_path / 'r.csv'}}}\nfeatures: {{modalities: [{{name: v, fields: [], encoder: "
        f"precomputed, params: {{path: {tmp_path / name}, ids: {tmp_path / 'ids.txt'}}}}}]}}\n"
        f"algorithms: [{{name: content}}]\n")
    assert expected in _one_line_error(_cli("run", "run.yaml", cwd=tmp_path))


def test_streamlit_config_turns_off_the_external_ip_lookup_and_costly_metrics():
    import tomllib

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    # a manually set browser.serverAddress makes the startup banner skip net_util.get_external_ip
    assert config["browser"]["serverAddress"]
    assert config["server"]["enableExpensiveMemoryStats"] is False
    # no agent API; the cross-session data cache bounded; a closed session's memory freed
    assert config["server"]["enableAgentApi"] is False
    assert config["server"]["maxCacheDataSize"] == "1gb"
    assert 0 < config["server"]["disconnectedSessionTTL"] <= 600
