"""Saving and loading a trained run (genre.run.persist), and fold-in of histories (Recommender.fold_in)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from genre.algorithms import Recommender, make_algorithm
from genre.cli import main
from genre.config import RunConfig
from genre.errors import FoldInError, PersistError
from genre.features import Features
from genre.run import Experiment, TrainedRun

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"data": {"source": str(ROOT / "sample_data")}, "split": {"method": "temporal"},
         "features": {"modalities": [{"name": "text", "fields": ["title", "genres"], "encoder": "tfidf"}]},
         "algorithms": [{"name": "popularity", "weight": 0.1}, {"name": "ease", "weight": 0.4},
                        {"name": "item_knn", "weight": 0.3}, {"name": "content", "weight": 0.2}],
         "tuning": {"enabled": False}, "evaluation": {"ks": [10]}}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    trained = Experiment(RunConfig.from_dict(SMALL)).train()
    path = tmp_path_factory.mktemp("runs") / "small"
    manifest = trained.save(path)
    return trained, path, manifest


def _one_line(error: Exception) -> bool:
    return "\n" not in str(error) and len(str(error)) > 10


def test_the_manifest_lists_every_file_with_its_size(saved):
    _, path, manifest = saved
    on_disk = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    assert manifest["bytes"] == on_disk
    assert set(manifest["files"]) == {str(p.relative_to(path)) for p in path.rglob("*")
                                      if p.is_file() and p.name != "manifest.json"}
    assert not list(path.rglob("*.pkl")) and not list(path.rglob("*.npy"))
    assert manifest["sizes"]["models"] == 4


LOADER = """
import json, sys
from genre.algorithms import Recommender
def refuse(*args, **kwargs):
    raise AssertionError("a model was refitted while loading")
Recommender.fit = refuse
from genre.run import TrainedRun
trained = TrainedRun.load(sys.argv[1])
users = json.loads(sys.argv[2])
print(json.dumps({str(u): trained.recommend(u, k=10, explain=False)["item_id"].tolist() for u in users}))
"""


def test_a_fresh_process_loads_the_same_top10_without_refitting(saved):
    trained, path, _ = saved
    users = [int(u) for u in trained.user_ids_evaluated[:50]]
    done = subprocess.run([sys.executable, "-c", LOADER, str(path), json.dumps(users)], capture_output=True, check=False,
                          text=True, timeout=600, cwd=ROOT, env={"OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout)
    for user in users:
        assert loaded[str(user)] == trained.recommend(user, k=10, explain=False)["item_id"].tolist()


def test_a_loaded_run_keeps_weights_metrics_and_config(saved):
    trained, path, _ = saved
    loaded = TrainedRun.load(path)
    assert loaded.weights_ == trained.weights_
    assert np.allclose(loaded.result_.metrics.to_numpy(), trained.result_.metrics.to_numpy(), equal_nan=True)
    assert loaded.config.to_dict() == trained.config.to_dict()
    assert loaded.set_weights({"ease": 1.0, "item_knn": 0.5}).metrics.loc["mix", "ndcg@10"] > 0  # store usable


def _flip_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["models/ease.safetensors", "config.yaml", "split/train.parquet"])
def test_a_tampered_file_is_refused_in_one_line(saved, name, capsys):
    _, path, _ = saved
    target = path / name
    _flip_byte(target, target.stat().st_size // 2)
    try:
        with pytest.raises(PersistError, match="changed after saving") as caught:
            TrainedRun.load(path)
        assert _one_line(caught.value)
        assert main(["serve", str(path), "--port", "1"]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    finally:
        _flip_byte(target, target.stat().st_size // 2)
    TrainedRun.load(path)  # restored


def test_an_incompatible_manifest_is_refused_in_one_line(saved):
    _, path, _ = saved
    manifest = path / "manifest.json"
    original = manifest.read_text()
    try:
        manifest.write_text(original.replace('"format": 1', '"format": 99', 1))
        with pytest.raises(PersistError, match="format 99") as caught:
            TrainedRun.load(path)
        assert _one_line(caught.value)
        shrunk = json.loads(original)
        del shrunk["files"]["arrays.safetensors"]
        manifest.write_text(json.dumps(shrunk))
        with pytest.raises(PersistError, match="does not list arrays.safetensors"):
            TrainedRun.load(path)
        manifest.write_text("{not json")
        with pytest.raises(PersistError) as caught:
            TrainedRun.load(path)
        assert _one_line(caught.value)
    finally:
        manifest.write_text(original)


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(PersistError, match="not a saved GENRE run"):
        TrainedRun.load(tmp_path)


# ---------------------------------------------------------------------------- fold-in
def test_folding_in_a_training_users_history_reproduces_their_list(saved):
    trained, path, _ = saved
    loaded = TrainedRun.load(path)
    for user in trained.user_ids_evaluated[:10]:
        history = trained.history(user).sort_values("timestamp")
        folded = loaded.recommend_for_history(history["item_id"].tolist(), k=10)
        assert folded.attrs["skipped"] == {}
        assert folded["item_id"].tolist() == trained.recommend(user, k=10, explain=False)["item_id"].tolist()


@pytest.fixture(scope="module")
def small_train():
    rng = np.random.default_rng(0)
    dense = (rng.random((60, 80)) < 0.15).astype(np.float32)
    dense[:, 0] = 1.0
    train = sp.csr_matrix(dense)
    times = train.copy()
    times.data = rng.permutation(len(times.data)).astype(np.float64) + 1e9  # distinct: no ties
    genres = sp.csr_matrix((rng.random((80, 5)) < 0.4).astype(np.float32))
    return train, Features(item_vectors=rng.normal(size=(80, 16)).astype(np.float32), interaction_times=times,
                           item_genres=genres, genre_names=list("abcde"))


@pytest.mark.parametrize("name, params", [("popularity", {}), ("ease", {"l2": 10.0}), ("item_knn", {"k": 20}),
                                          ("content", {}), ("content", {"weighting": "recency"}),
                                          ("sequential", {"last": 3}), ("genre_pref", {}),
                                          ("two_tower", {"dim": 8, "hidden": 8, "epochs": 2, "max_history": 5,
                                                         "n_negatives": 8}),
                                          ("transformer_seq", {"dim": 8, "epochs": 2, "max_len": 6}),
                                          ("transformer_seq", {"dim": 8, "epochs": 2, "max_len": 30,
                                                               "item_repr": "both"}),
                                          ("transformer_seq", {"dim": 8, "epochs": 2, "max_len": 30, "n_models": 2})])
def test_fold_in_of_a_users_own_history_equals_their_scores(small_train, name, params):
    train, features = small_train
    model = make_algorithm(name, **params).fit(train, features)
    times = features.interaction_times
    for user in range(0, 60, 7):
        row = times[user]
        order = np.argsort(row.data)
        folded = model.fold_in(row.indices[order], timestamps=row.data[order])
        assert np.allclose(folded, model.score(user)[0], atol=1e-5), (name, user)


def test_als_fold_in_ranks_close_to_its_trained_vectors(small_train):
    train, features = small_train
    model = make_algorithm("als", factors=8, iterations=15, random_state=0).fit(train, features)
    overlaps = []
    for user in range(60):
        stored = model.recommend(user, k=10)
        scores = model.fold_in(train[user].indices)
        scores[train[user].indices] = -np.inf
        folded = np.argsort(-scores, kind="stable")[:10]
        gains = np.isin(folded, stored) / np.log2(np.arange(2, 12))
        overlaps.append(gains.sum() / (1 / np.log2(np.arange(2, 12))).sum())
    assert np.mean(overlaps) >= 0.9


def test_an_algorithm_that_cannot_fold_in_says_why_in_one_line():
    class Frozen(Recommender):
        name = "frozen"

        def _fit(self, train, features, progress):
            pass

    model = Frozen().fit(sp.csr_matrix(np.eye(3, dtype=np.float32)))
    with pytest.raises(FoldInError, match="frozen cannot score a user outside its training data") as caught:
        model.fold_in([0, 1])
    assert _one_line(caught.value)


def test_fold_in_checks_its_input(small_train):
    model = make_algorithm("ease", l2=10.0).fit(small_train[0])
    with pytest.raises(Exception, match="item indices"):
        model.fold_in([0, 999])
    with pytest.raises(Exception, match="timestamps"):
        model.fold_in([0, 1], timestamps=[1.0])


def test_state_round_trips_without_fitting(small_train):
    train, features = small_train
    networks = [("two_tower", {"dim": 8, "hidden": 8, "epochs": 2, "n_negatives": 8}),
                ("transformer_seq", {"dim": 8, "epochs": 2, "max_len": 10, "item_repr": "both"}),
                ("transformer_seq", {"dim": 8, "epochs": 2, "max_len": 10, "item_repr": "both", "n_models": 2})]
    plain = ("ease", "item_knn", "content", "sequential", "als", "bpr", "popularity", "genre_pref")
    for name, params in [(name, {}) for name in plain] + networks:
        model = make_algorithm(name, **params).fit(train, features)
        fresh = make_algorithm(name, **params)._restore(model._state())
        assert np.array_equal(fresh.score([0, 5]), model.score([0, 5])), name
        if params:  # the network came back too: a new history scores alike
            assert np.allclose(fresh.fold_in([1, 4, 2]), model.fold_in([1, 4, 2]), atol=1e-6), (name, params)


def test_cli_run_saves_the_trained_run(tmp_path, capsys):
    config = tmp_path / "pop.yaml"
    config.write_text(f"data: {{source: {ROOT / 'sample_data'}}}\nalgorithms: [{{name: popularity}}]\n"
                      "features: {modalities: []}\ntuning: {enabled: false}\n")
    assert main(["run", str(config), "--no-save", "--json", "--save", str(tmp_path / "saved")]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["saved"]["bytes"] == sum(p.stat().st_size for p in (tmp_path / "saved").rglob("*") if p.is_file())
    assert TrainedRun.load(tmp_path / "saved").weights_ == {"popularity": 1.0}


def test_als_fold_in_on_the_sample_keeps_the_users_lists(sample_dataset):
    from genre.split import temporal_split

    split = temporal_split(sample_dataset.interactions, n_users=sample_dataset.n_users, n_items=sample_dataset.n_items)
    train = split.train_matrix()
    model = make_algorithm("als", factors=64, iterations=10, random_state=0).fit(train)
    ideal = (1 / np.log2(np.arange(2, 12))).sum()
    overlaps = []
    for user in split.test_users[:50]:
        stored = model.recommend(user, k=10)
        scores = model.fold_in(train[user].indices)
        scores[train[user].indices] = -np.inf
        folded = np.argsort(-scores, kind="stable")[:10]
        overlaps.append((np.isin(folded, stored) / np.log2(np.arange(2, 12))).sum() / ideal)
    assert np.mean(overlaps) >= 0.9, np.mean(overlaps)
