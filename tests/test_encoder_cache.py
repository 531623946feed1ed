"""The on-disk embedding cache: hits skip the model, changes re-encode only what changed,
corrupt files are detected and rebuilt."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genre.paths import cache_dir
from genre.encoders import EmbeddingCache, encode_cached, encode_with_report, make_encoder

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


class CountingEncoder:
    """Deterministic stand-in that records every input it is asked to encode."""

    cacheable = True
    dim = 16

    def __init__(self, id: str = "counting:v1") -> None:
        self.id = id
        self.seen: list[str] = []
        self.calls = 0
        self.last_report: dict = {}

    def encode(self, inputs, progress=None):
        self.calls += 1
        self.seen.extend(inputs)
        rows = np.array([np.frombuffer(hashlib.sha256(str(t).encode()).digest()[:16], dtype=np.uint8)
                         for t in inputs], dtype=np.float32).reshape(len(inputs), self.dim)
        flags = np.array([t == "MISSING" for t in inputs], dtype=bool)
        rows[flags] = 0
        self.last_report = {"flags": flags, "missing": int(flags.sum())}
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


@pytest.fixture
def titles() -> list[str]:
    return pd.read_csv(SAMPLE / "movies.csv", nrows=60)["title"].tolist()


def test_second_run_encodes_nothing_and_returns_the_same_vectors(tmp_path, titles):
    encoder = CountingEncoder()
    first, report = encode_with_report(encoder, titles, EmbeddingCache(tmp_path))
    assert report["cache_hits"] == 0 and report["cache_misses"] == 60 and encoder.calls == 1
    again, report = encode_with_report(encoder, titles, EmbeddingCache(tmp_path))  # a new process
    assert encoder.calls == 1 and report["cache_hits"] == 60 and report["cache_misses"] == 0
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, CountingEncoder().encode(titles))


def test_only_new_or_changed_items_are_encoded(tmp_path, titles):
    cache = EmbeddingCache(tmp_path)
    encoder = CountingEncoder()
    encode_cached(encoder, titles[:50], cache)
    changed = titles[:50] + titles[50:]
    changed[3] = "Toy Story 5 (2031)"
    encoder.seen.clear()
    vectors = encode_cached(encoder, changed, cache)
    assert sorted(encoder.seen) == sorted(["Toy Story 5 (2031)"] + titles[50:])
    np.testing.assert_array_equal(vectors, CountingEncoder().encode(changed))
    assert cache.info()[0]["n"] == 61  # the old text of item 3 stays cached too


def test_flagged_rows_are_not_cached(tmp_path):
    cache = EmbeddingCache(tmp_path)
    encoder = CountingEncoder()
    vectors, report = encode_with_report(encoder, ["a", "MISSING", "b"], cache)
    assert report["flags"].tolist() == [False, True, False] and not vectors[1].any()
    encoder.seen.clear()
    _, report = encode_with_report(encoder, ["MISSING", "a", "b"], cache)
    assert encoder.seen == ["MISSING"] and report["missing"] == 1
    assert report["flags"].tolist() == [True, False, False]


def test_encoders_get_separate_entries(tmp_path, titles):
    cache = EmbeddingCache(tmp_path)
    one, two = CountingEncoder("counting:v1"), CountingEncoder("counting:v2")
    encode_cached(one, titles, cache)
    encode_cached(two, titles, cache)
    assert two.calls == 1 and {row["encoder_id"] for row in cache.info()} == {"counting:v1", "counting:v2"}
    cache.clear("counting:v1")
    assert [row["encoder_id"] for row in cache.info()] == ["counting:v2"]
    (tmp_path / "llm").mkdir()
    cache.clear()
    assert cache.info() == [] and (tmp_path / "llm").is_dir(), "clear() only removes vectors"


@pytest.mark.parametrize("damage", ["vectors", "keys", "index", "truncate"])
def test_corrupt_cache_is_detected_and_rebuilt(tmp_path, titles, caplog, damage):
    encoder = CountingEncoder()
    expected = encode_cached(encoder, titles, EmbeddingCache(tmp_path))
    folder = EmbeddingCache(tmp_path).folder(encoder.id)
    index = json.loads((folder / "index.json").read_text())
    if damage == "index":
        (folder / "index.json").write_text("{not json")
    elif damage == "truncate":
        path = folder / index["vectors_file"]
        path.write_bytes(path.read_bytes()[:200])
    else:
        path = folder / index[f"{damage}_file"]
        data = bytearray(path.read_bytes())
        data[-5] ^= 0xFF
        path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="genre"):
        vectors = encode_cached(encoder, titles, EmbeddingCache(tmp_path))
    assert "corrupt" in caplog.text and encoder.calls == 2
    np.testing.assert_array_equal(vectors, expected)
    encode_cached(encoder, titles, EmbeddingCache(tmp_path))
    assert encoder.calls == 2, "the rebuilt cache serves the third run"
    assert len(list(folder.glob("*.npy"))) == 2


def test_files_are_plain_npy_and_json(tmp_path, titles):
    encoder = CountingEncoder()
    encode_cached(encoder, titles, EmbeddingCache(tmp_path))
    folder = EmbeddingCache(tmp_path).folder(encoder.id)
    index = json.loads((folder / "index.json").read_text())
    vectors = np.load(folder / index["vectors_file"], allow_pickle=False)
    keys = np.load(folder / index["keys_file"], allow_pickle=False)
    assert vectors.shape == (60, 16) and keys.dtype == np.dtype("S32")
    assert (keys[:-1] < keys[1:]).all(), "keys are sorted for binary search"
    assert not list(folder.glob(".tmp-*"))


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GENRE_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    assert EmbeddingCache().root == tmp_path / "c"
    assert EmbeddingCache().folder("x").parent == tmp_path / "c" / "embeddings"
    monkeypatch.delenv("GENRE_CACHE_DIR")
    assert cache_dir() == Path.home() / ".cache" / "genre"


def test_uncacheable_encoders_bypass_the_cache(tmp_path, titles):
    encoder = make_encoder("tfidf")
    vectors, report = encode_with_report(encoder, titles, EmbeddingCache(tmp_path))
    assert vectors.shape[0] == 60 and report["cache_misses"] == 60 and not any(tmp_path.iterdir())


def test_minilm_is_not_called_on_a_cache_hit(tmp_path, titles, monkeypatch):
    encoder = make_encoder("minilm")
    model = encoder._model()
    batches = []
    original = model.encode
    monkeypatch.setattr(model, "encode", lambda texts, **kw: batches.append(len(texts)) or original(texts, **kw))
    first = encode_cached(encoder, titles, EmbeddingCache(tmp_path))
    assert sum(batches) == 60
    second = encode_cached(make_encoder("minilm"), titles, EmbeddingCache(tmp_path))
    assert sum(batches) == 60
    np.testing.assert_array_equal(first, second)
