"""genre.run.adaptation_view: a run trained with the real minilm-adapted (a few seconds of steps on a
200-item slice of the sample) shown before and after, on the same items, with bounded figures."""

from __future__ import annotations

import numpy as np
import pytest

from genre.config import RunConfig
from genre.data import Dataset
from genre.encoders import make_encoder
from genre.errors import DataError
from genre.run import adaptation_view
from genre.run.adaptation_view import adapted_modalities, compare_adaptation
from genre.run.experiment import Experiment

#: Step-bounded adaptation (the time budget is far away): seconds, and the same result each time.
FAST = {"max_steps": 12, "batch_pairs": 32, "val_every": 4, "patience": 10, "budget_s": 120.0, "lr": 2e-3,
        "threads": 1}
FIELDS = ["title", "genres"]


def popular_slice(dataset: Dataset, n_items: int = 200, n_users: int = 150) -> Dataset:
    """The ``n_items`` most interacted items of the first ``n_users`` users: many consecutive pairs, a
    catalog small enough to encode in seconds."""
    counts = np.bincount(dataset.interactions["item"], minlength=dataset.n_items)
    rows = dataset.interactions
    keep = rows[rows["item"].isin(np.argsort(-counts)[:n_items]) & (rows["user"] < n_users)]
    raw = keep.assign(user=dataset.user_ids[keep["user"]], item=dataset.item_ids[keep["item"]])
    return Dataset.from_frame(raw, dataset.items[dataset.items.index.isin(keep["item"].unique())], name="popular")


def run_config(encoder: str, params: dict | None = None) -> RunConfig:
    return RunConfig.from_dict({"name": encoder, "features": {"modalities": [
        {"name": "text", "fields": FIELDS, "encoder": encoder, "params": params or {}}]},
        "algorithms": [{"name": "content"}]})


@pytest.fixture(scope="module")
def small(sample_dataset) -> Dataset:
    return popular_slice(sample_dataset)


@pytest.fixture(scope="module")
def trained(small, tmp_path_factory):
    return Experiment(run_config("minilm-adapted", FAST), dataset=small,
                      cache_dir=tmp_path_factory.mktemp("cache")).train()


@pytest.fixture(scope="module")
def view(trained):
    return compare_adaptation(trained)


def test_both_spaces_hold_the_same_items_and_before_is_the_frozen_encoder(small, trained, view):
    assert adapted_modalities(trained) == ["text"]
    assert view.items.tolist() == list(range(small.n_items))
    assert view.before.items.shape == view.after.items.shape == (small.n_items, 384)
    frozen = make_encoder("minilm").encode(small.item_text(tuple(FIELDS)))
    np.testing.assert_allclose(view.before.items, frozen, atol=1e-5)
    np.testing.assert_allclose(view.after.items, trained.item_vectors_, atol=1e-5)  # read back from the cache
    assert not np.allclose(view.before.items, view.after.items, atol=1e-2)
    assert view.stacked().shape == (2 * small.n_items, 384)
    before, after = view.neighbours(0)
    assert len(before) == len(after) == adaptation_view.NEIGHBOURS and 0 not in before and 0 not in after


def test_the_figures_are_computed_bounded_and_seeded(trained, view):
    assert set(view.pairs) == {"train", "test"}
    for part in view.pairs.values():
        assert 30 <= part.pairs <= adaptation_view.MAX_PAIRS
        assert 0.5 < part.closer_before < 1.0 and 0.0 <= part.closer_after <= 1.0  # frozen MiniLM beats chance
        assert all(-1.0 <= c <= 1.0 for c in (part.cosine_before, part.cosine_after,
                                               part.random_before, part.random_after))
    assert view.pairs["train"].closer_after > view.pairs["train"].closer_before  # what it learned from
    assert 0.0 < view.neighbours_changed <= 1.0
    report = view.report  # this run trained the encoder: its report is the run's own
    assert report["steps"] == FAST["max_steps"] and report["checks"][0]["step"] == 0
    again = compare_adaptation(trained)  # the frozen vectors now come from the cache
    assert again.pairs == view.pairs and again.neighbours_changed == view.neighbours_changed


def test_a_large_catalog_is_sampled_and_an_emptied_cache_falls_back(small, trained, monkeypatch, tmp_path):
    monkeypatch.setattr(trained, "cache_dir", tmp_path)  # the adapted vectors are not in this cache
    monkeypatch.setattr(trained, "feature_report_", None)  # as a reopened run: no training report
    view = compare_adaptation(trained, max_items=60)
    assert len(view.items) == 60 and len(np.unique(view.items)) == 60
    np.testing.assert_allclose(view.after.items, trained.item_vectors_[view.items], atol=1e-6)
    texts = small.item_text(tuple(FIELDS))
    frozen = make_encoder("minilm").encode([texts[i] for i in view.items])
    np.testing.assert_allclose(view.before.items, frozen, atol=1e-5)
    assert view.report is None and all(p.pairs <= adaptation_view.MAX_PAIRS for p in view.pairs.values())


def test_a_run_without_adaptation_offers_nothing(small, tmp_path):
    plain = Experiment(run_config("tfidf"), dataset=small, cache_dir=tmp_path).train()
    assert adapted_modalities(plain) == []
    with pytest.raises(DataError, match="did not adapt any modality"):
        compare_adaptation(plain)
