"""Modalities: config round trip, inputs per item, and the weighted concatenation."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from PIL import Image

from genre.data.dataset import Dataset
from genre.encoders import EmbeddingCache, Modality, build_item_vectors, modality_inputs
from genre.errors import ConfigError

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    movies = pd.read_csv(SAMPLE / "movies.csv", nrows=50).rename(columns={"movieId": "item_id"})
    ratings = pd.read_csv(SAMPLE / "ratings.csv")
    ratings = ratings[ratings["movieId"].isin(movies["item_id"])].rename(
        columns={"userId": "user", "movieId": "item"})
    ds = Dataset.from_frame(ratings, movies, name="ml-50")
    tags = pd.read_csv(SAMPLE / "tags.csv")
    tags = tags[tags["movieId"].isin(ds.item_ids) & tags["userId"].isin(ds.user_ids)]
    ds.tags = pd.DataFrame({"user": ds.user_index(tags["userId"]), "item": ds.item_index(tags["movieId"]),
                            "tag": tags["tag"].astype(str).to_numpy(), "timestamp": tags["timestamp"].to_numpy()})
    return ds


def test_modality_dict_round_trip_and_validation():
    modality = Modality("genre", ["genres"], encoder="multi-hot", params={"max_dense": 64}, weight=0.5)
    assert Modality.from_dict(modality.to_dict()) == modality
    assert Modality.from_dict({"name": "t", "fields": "title"}).fields == ["title"]
    with pytest.raises(ConfigError, match="unknown modality key.*wieght"):
        Modality.from_dict({"name": "t", "fields": ["title"], "wieght": 2})
    with pytest.raises(ConfigError, match="weight must be"):
        Modality.from_dict({"name": "t", "fields": ["title"], "weight": -1})
    with pytest.raises(ConfigError, match="valid encoders"):
        Modality.from_dict({"name": "t", "fields": ["title"], "encoder": "bert"})


def test_inputs_per_item_and_leak_free_tags(dataset):
    text = Modality("text", ["title", "genres", "tags"])
    inputs = modality_inputs(dataset, text)
    assert len(inputs) == dataset.n_items
    assert inputs[0].startswith("Toy Story (1995) | Adventure, Animation")
    tagged, tag = int(dataset.tags["item"].iloc[0]), dataset.tags["tag"].iloc[0]
    assert tag in inputs[tagged]
    override = {"tags": ["pixar-only"] + [""] * (dataset.n_items - 1)}
    clean = modality_inputs(dataset, text, item_text_override=override)
    assert clean[0].endswith(", Fantasy | pixar-only")
    assert clean[1:] == modality_inputs(dataset, Modality("t", ["title", "genres"]))[1:]
    two = modality_inputs(dataset, Modality("cats", ["genres", "tags"], encoder="multi-hot"), override)
    assert "genres:Animation" in two[0] and "tags:pixar-only" in two[0]
    with pytest.raises(ConfigError, match="no item field 'plot'.*title"):
        modality_inputs(dataset, Modality("p", ["plot"]))


def test_weighted_concatenation_is_a_weighted_average_of_cosines(dataset, tmp_path):
    modalities = [Modality("text", ["title"], weight=3.0),
                  Modality("genre", ["genres"], encoder="multi-hot", weight=1.0),
                  Modality("off", ["title"], encoder="tfidf", weight=0.0)]
    result = build_item_vectors(dataset, modalities, cache=EmbeddingCache(tmp_path))
    vectors = result.vectors
    assert isinstance(vectors, np.ndarray) and vectors.dtype == np.float32
    assert list(result.parts) == ["text", "genre"] and "off" not in result.report
    text, genre = vectors[:, result.parts["text"]], vectors[:, result.parts["genre"]]
    assert text.shape[1] == 384 and result.dim == 384 + genre.shape[1]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    full = np.flatnonzero(genre.any(axis=1))  # items with genres (all have a title)
    np.testing.assert_allclose(np.linalg.norm(text[full], axis=1) ** 2, 0.75, atol=1e-5)
    cos_text = text[full] @ text[full].T / 0.75
    cos_genre = genre[full] @ genre[full].T / 0.25
    np.testing.assert_allclose(vectors[full] @ vectors[full].T, (3 * cos_text + cos_genre) / 4, atol=1e-5)
    report = result.report["text"]
    assert report["encoder"] == "minilm" and report["dim"] == 384 and report["cache_misses"] == dataset.n_items
    again = build_item_vectors(dataset, modalities[:1], cache=EmbeddingCache(tmp_path))
    assert again.report["text"]["cache_hits"] == dataset.n_items and again.report["text"]["cache_misses"] == 0


def test_sparse_part_makes_csr_and_progress_names_the_modality(dataset):
    calls = []
    result = build_item_vectors(
        dataset, [Modality("words", ["title", "tags"], encoder="tfidf"),
                  Modality("genre", ["genres"], encoder="multi-hot", weight=2)],
        cache=False, progress=lambda done, total, msg: calls.append(msg))
    assert sp.issparse(result.vectors) and result.vectors.shape[0] == dataset.n_items
    np.testing.assert_allclose(sp.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)
    assert any(m.startswith("words: ") for m in calls) and any(m.startswith("genre: ") for m in calls)
    assert result.report["words"]["encoder_id"].startswith("tfidf:")


def test_image_modality_from_a_zip_counts_missing_images(dataset, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for colour, item in zip(("red", "blue"), dataset.item_ids[:2]):
            image = io.BytesIO()
            Image.new("RGB", (64, 64), colour).save(image, format="PNG")
            archive.writestr(f"{item}.png", image.getvalue())
    (tmp_path / "posters.zip").write_bytes(buffer.getvalue())
    small = [Modality("poster", [], encoder="image", params={"images": str(tmp_path / "posters.zip"),
                                                             "batch_size": 8})]
    result = build_item_vectors(dataset, small, cache=False)
    report = result.report["poster"]
    assert result.vectors.shape == (dataset.n_items, 1280)
    assert report["missing"] == dataset.n_items - 2 and report["flagged_items"][:2] == [2, 3]
    assert report["zero_rows"] == dataset.n_items - 2


def test_build_refuses_bad_modality_lists(dataset):
    with pytest.raises(ConfigError, match="unique"):
        build_item_vectors(dataset, [Modality("a", ["title"]), Modality("a", ["genres"])], cache=False)
    with pytest.raises(ConfigError, match="positive weight"):
        build_item_vectors(dataset, [Modality("a", ["title"], weight=0)], cache=False)
