"""Each encoder on real sample items: shape, unit norm, determinism, and what makes it useful."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from genre.encoders import ENCODER_NAMES, encoder_params, make_encoder
from genre.encoders.precomputed import PrecomputedEncoder
from genre.errors import ConfigError, DataError, EncoderError, NotFittedError

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def movies() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "movies.csv", nrows=50)


@pytest.fixture(scope="module")
def texts(movies: pd.DataFrame) -> list[str]:
    return [f"{t} | {g.replace('|', ', ')}" for t, g in zip(movies["title"], movies["genres"])]


def _unit_rows(vectors) -> np.ndarray:
    dense = vectors.toarray() if sp.issparse(vectors) else vectors
    return np.linalg.norm(dense, axis=1)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def minilm():
    return make_encoder("minilm")


def test_minilm_shape_norm_determinism(minilm, texts):
    first = minilm.encode(texts + [""])
    second = minilm.encode(texts + [""])
    assert first.shape == (51, 384) and first.dtype == np.float32
    np.testing.assert_allclose(_unit_rows(first[:50]), 1.0, atol=1e-5)
    assert not first[50].any(), "an empty text is a zero row, not the embedding of ''"
    np.testing.assert_allclose(first, second, atol=1e-5)
    assert minilm.last_report == {"empty": 1}
    assert minilm.id.startswith("sentence-transformers:all-MiniLM-L6-v2:")


def test_minilm_places_related_titles_together(minilm):
    toy, toy2, heat = minilm.encode(["Toy Story (1995)", "Toy Story 2 (1999)", "Heat (1995)"])
    assert toy @ toy2 > toy @ heat + 0.2


def test_minilm_reports_progress_by_chunk(minilm, texts):
    calls = []
    minilm.encode(texts, progress=lambda done, total, msg: calls.append((done, total)))
    assert calls[0] == (0, 50) and calls[-1] == (50, 50)


def test_sentence_transformers_on_a_local_folder_matches_minilm(minilm, texts):
    local = make_encoder("sentence-transformers", model=str(minilm.folder))
    assert local.id.split(":")[-1] == minilm.id.split(":")[-1]  # same files, same fingerprint
    np.testing.assert_allclose(local.encode(texts[:5]), minilm.encode(texts[:5]), atol=1e-5)


def test_transformers_mean_pooling_agrees_with_sentence_transformers(minilm, texts):
    encoder = make_encoder("transformers", model=str(minilm.folder))
    pooled = encoder.encode(texts)
    reference = minilm.encode(texts)
    assert pooled.shape == (50, 384)
    np.testing.assert_allclose(_unit_rows(pooled), 1.0, atol=1e-5)
    assert (np.sum(pooled * reference, axis=1) > 0.99).all()
    assert encoder.id != minilm.id


def test_offline_hub_name_fails_fast_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("GENRE_CACHE_DIR", str(tmp_path))
    began = time.perf_counter()
    with pytest.raises(EncoderError) as info:
        make_encoder("sentence-transformers", model="someone/not-a-real-model-xyz")
    message = str(info.value)
    assert "is not available offline" in message and "model=/path/to/folder" in message
    assert str(tmp_path / "models") in message
    assert time.perf_counter() - began < 20


def test_use_multilingual_matches_translations(texts):
    encoder = make_encoder("use-multilingual")
    vectors = encoder.encode(texts)
    assert vectors.shape == (50, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(_unit_rows(vectors), 1.0, atol=1e-4)
    np.testing.assert_allclose(encoder.encode(texts[:3]), vectors[:3], atol=1e-5)
    en, zh, other = encoder.encode(["The cat is sleeping on the sofa.", "猫在沙发上睡觉。",
                                    "Interest rates rose sharply last quarter."])
    assert en @ zh > en @ other + 0.3


def test_tfidf_is_sparse_normalized_and_corpus_keyed(texts):
    encoder = make_encoder("tfidf", ngram_range=(1, 1), min_df=1)
    with pytest.raises(NotFittedError):
        encoder.id
    vectors = encoder.encode(texts)
    assert sp.issparse(vectors) and vectors.shape == (50, encoder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(_unit_rows(vectors), 1.0, atol=1e-5)
    assert "corpus-" in encoder.id and not encoder.cacheable
    other = make_encoder("tfidf", ngram_range=(1, 1)).fit(texts[:10])
    assert other.id != encoder.id
    # later texts are projected into the fitted space; unknown words give a zero row
    query = encoder.encode(["toy story", "zzzz qqqq"])
    assert query.shape == (2, encoder.dim) and query[1].nnz == 0
    assert (query[0] @ vectors.T).toarray().argmax() == 0  # Toy Story is the first movie


def test_multi_hot_over_lists_and_separated_strings(movies):
    encoder = make_encoder("multi-hot")
    vectors = encoder.encode(list(movies["genres"].str.split("|")) + ["Comedy,Drama", None])
    assert isinstance(vectors, np.ndarray) and vectors.shape[1] == len(encoder.categories_)
    np.testing.assert_allclose(_unit_rows(vectors[:-1]), 1.0, atol=1e-6)
    assert not vectors[-1].any()
    comedy, drama = encoder.categories_.index("Comedy"), encoder.categories_.index("Drama")
    np.testing.assert_allclose(vectors[50, [comedy, drama]], [2 ** -0.5] * 2, atol=1e-6)
    wide = make_encoder("multi-hot", max_dense=3).encode(["a|b|c|d", "a"])
    assert sp.issparse(wide) and wide.shape == (2, 4)


def test_make_encoder_names_what_is_wrong():
    assert ENCODER_NAMES[0] == "minilm" and "image" in ENCODER_NAMES
    with pytest.raises(ConfigError, match="valid encoders: minilm"):
        make_encoder("word2vec")
    with pytest.raises(ConfigError, match="ngram"):
        make_encoder("tfidf", ngrams=(1, 2))
    with pytest.raises(ConfigError, match="sentence-transformers"):
        make_encoder("minilm", model="x")
    with pytest.raises(ConfigError, match="needs parameter"):
        make_encoder("precomputed")
    assert encoder_params("tfidf")["min_df"] == 1


# ---------------------------------------------------------------------- precomputed vectors
def test_precomputed_npy_with_missing_and_extra_ids(tmp_path, movies):
    ids = movies["movieId"].tolist()[:10]
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(10, 8)).astype(np.float32)
    file_ids = ids[1:] + [999_999]  # item 0 missing, 999999 not in the catalog
    np.save(tmp_path / "v.npy", matrix)
    (tmp_path / "ids.txt").write_text("\n".join(map(str, file_ids)) + "\n")
    encoder = make_encoder("precomputed", path=str(tmp_path / "v.npy"), ids=str(tmp_path / "ids.txt"))
    vectors = encoder.encode(ids)
    assert vectors.shape == (10, 8)
    assert not vectors[0].any()
    np.testing.assert_allclose(vectors[1], matrix[0] / np.linalg.norm(matrix[0]), atol=1e-6)
    np.testing.assert_allclose(_unit_rows(vectors[1:]), 1.0, atol=1e-5)
    assert encoder.last_report["missing"] == 1 and encoder.last_report["extra"] == 1
    assert encoder.last_report["flags"].tolist() == [True] + [False] * 9


def test_precomputed_parquet_and_csv_ids(tmp_path):
    frame = pd.DataFrame({"item_id": ["1", "2", "3"], "vector": [[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]})
    frame.to_parquet(tmp_path / "v.parquet")
    vectors = PrecomputedEncoder(tmp_path / "v.parquet").encode([3, 1, 4])
    np.testing.assert_allclose(vectors, [[2 ** -0.5, 2 ** -0.5], [1, 0], [0, 0]], atol=1e-6)
    np.save(tmp_path / "m.npy", np.eye(3))
    frame[["item_id"]].rename(columns={"item_id": "movie"}).to_csv(tmp_path / "ids.csv", index=False)
    encoder = PrecomputedEncoder(tmp_path / "m.npy", ids=tmp_path / "ids.csv", id_column="movie")
    assert encoder.encode(["2"])[0].tolist() == [0, 1, 0]


def test_precomputed_refuses_bad_files(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    (tmp_path / "ids.txt").write_text("1\n2\n")
    with pytest.raises(DataError, match="object dtype"):
        PrecomputedEncoder(tmp_path / "obj.npy", ids=tmp_path / "ids.txt")
    np.save(tmp_path / "three.npy", np.ones((3, 2)))
    with pytest.raises(DataError, match="one row"):
        PrecomputedEncoder(tmp_path / "three.npy", ids=tmp_path / "ids.txt")
    (tmp_path / "dup.txt").write_text("1\n1\n2\n")
    with pytest.raises(DataError, match="twice"):
        PrecomputedEncoder(tmp_path / "three.npy", ids=tmp_path / "dup.txt")
    with pytest.raises(DataError, match="id list"):
        PrecomputedEncoder(tmp_path / "three.npy")
