"""Scale safeguards: user sampling with intervals, batch sizes, EASE refusal, ANN content."""

import numpy as np
import pytest
import scipy.sparse as sp

from genre import batching
from genre import evaluate as evaluation
from genre import metrics
from genre.algorithms.content import ContentBased
from genre.algorithms.ease import EASE
from genre.config import RunConfig
from genre.errors import ConfigError
from genre.features import Features
from genre.run import Experiment
from genre.split import temporal_split

from conftest import first_users


@pytest.fixture(scope="module")
def small_dataset(sample_dataset):
    return first_users(sample_dataset, 120)


def _config() -> RunConfig:
    return RunConfig.from_dict({
        "features": {"modalities": [{"name": "text", "fields": ["title", "genres"], "encoder": "tfidf"}]},
        "algorithms": [{"name": "item_knn", "params": {"k": 50}, "weight": 0.5},
                       {"name": "content", "weight": 0.2}, {"name": "popularity", "weight": 0.3}],
        "evaluation": {"ks": [5, 10]}})


def test_above_max_users_a_seeded_sample_is_evaluated_with_intervals_and_said_so(small_dataset, tmp_path):
    full = Experiment(_config(), dataset=small_dataset, cache_dir=tmp_path).train()
    config = _config()
    config.evaluation.max_users = 40
    sampled = Experiment(config, dataset=small_dataset, cache_dir=tmp_path).train()
    result = sampled.result_
    assert len(sampled.users_) == 40 and set(sampled.users_) < set(full.users_)
    assert list(result.per_user.index) == list(sampled.users_)
    assert any("sample of 40 of the" in note for note in result.notes)
    assert (result.intervals.loc["mix", "ndcg@10"] > full.result_.intervals.loc["mix", "ndcg@10"])
    again = Experiment(config, dataset=small_dataset, cache_dir=tmp_path).train()
    assert np.array_equal(again.users_, sampled.users_)  # seeded
    user = np.setdiff1d(full.users_, sampled.users_)[0]  # not sampled: still served on demand
    assert len(sampled.recommend(small_dataset.user_ids[user], k=5)) == 5


def test_small_batches_change_nothing(monkeypatch, small_dataset):
    split = temporal_split(small_dataset.interactions, small_dataset.n_users, small_dataset.n_items)
    scores = np.random.default_rng(0).random((len(split.test_users), small_dataset.n_items), dtype=np.float32)
    vectors = small_dataset.genre_matrix()[0]
    whole = evaluation.evaluate_scores(scores, split.test_users, split, ks=(10,), item_vectors=vectors)
    monkeypatch.setattr(batching, "BATCH_BYTES", 7 * 4 * small_dataset.n_items)  # 7 users per batch
    assert evaluation.rows_per_batch(small_dataset.n_items) == 7
    batched = evaluation.evaluate_scores(scores, split.test_users, split, ks=(10,), item_vectors=vectors)
    assert batched.means == whole.means
    direct = metrics.intra_list_diversity_at_k(whole.top_items, vectors, 10).mean()
    assert batched.means["diversity@10"] == pytest.approx(direct, rel=1e-12)


def test_ease_refuses_a_catalog_whose_matrices_exceed_the_free_memory(monkeypatch):
    import psutil

    class Tiny:
        available = 1000  # bytes
    monkeypatch.setattr(psutil, "virtual_memory", lambda: Tiny())
    with pytest.raises(ConfigError, match=r"ease: the catalog has 30 items, but only 0.0 GB of memory "
                                          r"is available.*item_knn / als"):
        EASE().fit(sp.csr_matrix(np.eye(30, dtype=np.float32)))


def test_ease_refusal_names_max_items_and_the_memory_needed():
    with pytest.raises(ConfigError, match=r"200000 items, above max_items=20000.*320.0 GB"):
        EASE().fit(sp.csr_matrix(([1.0], ([0], [5])), shape=(3, 200_000), dtype=np.float32))


def test_ann_content_scores_match_exact_top_k_closely():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 32))
    vectors = (centres[rng.integers(0, 40, 4000)] + 0.4 * rng.normal(size=(4000, 32))).astype(np.float32)
    train = sp.random(60, 4000, density=0.004, format="csr", random_state=2, dtype=np.float32)
    train.data[:] = 1
    users = np.flatnonzero(np.diff(train.indptr))
    features = Features(item_vectors=vectors)
    exact = ContentBased(ann_min_items=None).fit(train, features)
    approximate = ContentBased(ann_min_items=1000, ann_candidates=100).fit(train, features)
    assert exact.index_ is None and approximate.index_ is not None
    top_exact, top_ann = exact.recommend(users, k=10), approximate.recommend(users, k=10)
    overlap = np.mean([len(set(e) & set(a)) / 10 for e, a in zip(top_exact, top_ann)])
    assert overlap >= 0.9
    found = top_ann[top_ann == top_exact]  # where both agree the scores are the exact cosines
    scores_exact, scores_ann = exact.score(users), approximate.score(users)
    rows = np.repeat(np.arange(len(users)), 10).reshape(-1, 10)[top_ann == top_exact]
    np.testing.assert_allclose(scores_ann[rows, found], scores_exact[rows, found], rtol=1e-4, atol=1e-5)


def test_sparse_content_vectors_stay_exact_whatever_the_catalog_size():
    vectors = sp.random(300, 50, density=0.1, format="csr", random_state=3, dtype=np.float32)
    train = sp.random(5, 300, density=0.05, format="csr", random_state=4, dtype=np.float32)
    model = ContentBased(ann_min_items=10).fit(train, Features(item_vectors=vectors))
    assert model.index_ is None
    dense = ContentBased(ann_min_items=None).fit(train, Features(item_vectors=vectors.toarray()))
    np.testing.assert_allclose(model.score(np.arange(5)), dense.score(np.arange(5)), rtol=1e-5, atol=1e-6)


def test_ease_inverts_only_items_with_interactions_and_matches_the_full_closed_form():
    rng = np.random.default_rng(5)
    dense = (rng.random((30, 10)) < 0.4).astype(np.float64)
    dense[:, [2, 7]] = 0.0  # two items nobody interacted with (e.g. only in the test part)
    gram = dense.T @ dense + 4.0 * np.eye(10)
    inverse = np.linalg.inv(gram)
    expected = -inverse / np.diag(inverse)[None, :]
    np.fill_diagonal(expected, 0.0)
    weights = EASE(l2=4.0).fit(sp.csr_matrix(dense)).weights_
    assert weights.shape == (10, 10) and not weights[[2, 7]].any() and not weights[:, [2, 7]].any()
    np.testing.assert_allclose(weights, expected, rtol=1e-4, atol=1e-6)
