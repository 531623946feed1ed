"""Issue 21 §2, no blind wait: the what-if index comes with training (own vectors, encoding cache) or is
encoded once in counted blocks; UMAP finds exact neighbours, counts its epochs and keeps layouts on disk.
Real models and real UMAP on a few hundred sample items; no mocks."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import first_users
from genre.config import RunConfig
from genre.errors import Cancelled
from genre.projection import cached_umap, layout_key, nearest_neighbours, stored_umap
from genre.run import Experiment, TrainedRun


@pytest.fixture
def small(sample_dataset):
    return first_users(sample_dataset, 3, "three users")  # ~300 items: MiniLM encodes them in seconds


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_CACHE_DIR", str(tmp_path))  # the default cache too (TrainedRun.load)
    return tmp_path


def _generations(cache_dir) -> dict[str, str]:
    """Each encoder's current cache generation (a new one is written whenever anything is encoded)."""
    return {p.parent.name: p.read_text() for p in (cache_dir / "embeddings").glob("*/index.json")}


@pytest.mark.slow
def test_what_if_answers_from_the_runs_own_vectors_without_encoding_the_catalog(small, cache_dir):
    config = RunConfig.from_dict({"algorithms": [{"name": "content"}], "features": {"modalities": [
        {"name": "text", "fields": ["title", "genres"], "encoder": "minilm"}]}})
    trained = Experiment(config, dataset=small).train()
    assert "what-if index" in trained.timings and trained.find_text_index()
    assert trained._text_index is trained.features_.item_vectors  # the same space: nothing encoded again
    before = _generations(cache_dir)
    matches = trained.recommend_for_text("animated films for children", k=5)
    assert _generations(cache_dir) == before  # only the question was encoded, never the catalog
    assert len(matches) == 5 and (np.diff(matches["similarity"]) <= 1e-9).all()


@pytest.mark.slow
def test_a_cold_catalog_is_encoded_once_in_counted_blocks_then_training_and_loading_find_it(small, cache_dir,
                                                                                         tmp_path):
    config = RunConfig.from_dict({"algorithms": [{"name": "popularity"}]})  # TF-IDF content: another space
    trained = Experiment(config, dataset=small).train()
    assert not trained.find_text_index() and not trained.what_if_ready
    calls = []
    trained.prepare_what_if(lambda done, total, message: calls.append((done, total, message)))
    stages = [m for d, t, m in calls if t == 0]
    counted = [(d, t) for d, t, _ in calls if t > 0]
    assert stages == [f"what-if index: encoding {small.n_items:,} items", "loading the text model"]
    assert counted[-1] == (small.n_items, small.n_items) and counted == sorted(counted)
    assert trained.what_if_ready
    first = trained.recommend_for_text("space operas", k=3)

    again = Experiment(config, dataset=small).train()  # a retrain over the same catalog: from the cache
    assert again.find_text_index()
    assert np.allclose(again._text_index, trained._text_index)
    folder = tmp_path / "saved"
    trained.save(folder)
    loaded = TrainedRun.load(folder)  # a saved run keeps no index: taken from the cache on load
    assert loaded.find_text_index()
    before = _generations(cache_dir)
    assert loaded.recommend_for_text("space operas", k=3)["item_id"].tolist() == first["item_id"].tolist()
    assert _generations(cache_dir) == before


def test_exact_neighbours_are_the_brute_force_ones_nearest_first():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(300, 8)).astype(np.float32)
    points[7] = 0.0  # a point without content still lists itself first
    indices, distances = nearest_neighbours(points, 5, progress=None)
    unit = points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)
    cosine = 1 - unit @ unit.T
    np.fill_diagonal(cosine, -1)
    expected = np.argsort(cosine, axis=1, kind="stable")[:, :5]
    assert (indices[:, 0] == np.arange(300)).all() and (distances[:, 0] == 0).all()
    assert (np.sort(indices[:, 1:], axis=1) == np.sort(expected[:, 1:], axis=1))[np.arange(300) != 7].all()
    assert (np.diff(distances, axis=1) >= 0).all()


@pytest.mark.slow
def test_umap_counts_its_work_and_lays_a_space_out_once(tmp_path):
    rng = np.random.default_rng(1)
    vectors = np.vstack([rng.normal(0, 0.05, (60, 8)) + np.eye(8)[0],
                         rng.normal(0, 0.05, (60, 8)) + np.eye(8)[1]]).astype(np.float32)
    calls = []
    coords = cached_umap(vectors, seed=3, progress=lambda d, t, m: calls.append((d, t, m)), root=tmp_path)
    assert [m for d, t, m in calls if t == 0] == ["reducing 120 points to 50 dimensions",
                                                 "finding each point's 15 nearest neighbours", "laying out 120 points"]
    epochs = [(d, t) for d, t, m in calls if m.startswith("layout epoch")]
    assert epochs and epochs[-1][0] == epochs[-1][1] > 100  # every epoch counted, up to the last
    assert np.linalg.norm(coords[:60].mean(0) - coords[60:].mean(0)) > 3 * coords[:60].std(0).mean()

    again = []
    assert np.array_equal(cached_umap(vectors, seed=3, progress=lambda *a: again.append(a), root=tmp_path), coords)
    assert again == []  # read from disk: nothing laid out
    assert np.array_equal(stored_umap(vectors, seed=3, root=tmp_path), coords)
    assert stored_umap(vectors, seed=4, root=tmp_path) is None and stored_umap(vectors[1:], 3, tmp_path) is None
    assert layout_key(vectors, "umap", 3) != layout_key(vectors.astype(np.float64), "umap", 3)


@pytest.mark.slow
def test_a_cancel_during_the_layout_stops_it_and_stores_nothing(tmp_path):
    vectors = np.random.default_rng(2).normal(size=(80, 6)).astype(np.float32)

    def cancel_at_epoch_ten(done, total, message):
        if message.startswith("layout epoch") and done >= 10:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        cached_umap(vectors, seed=0, progress=cancel_at_epoch_ten, root=tmp_path)
    assert stored_umap(vectors, seed=0, root=tmp_path) is None
