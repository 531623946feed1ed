"""Durability (issue 7): a process killed while it saves loses nothing that was saved before.

A child process saves in a loop (runs into the registry, vectors into the embedding cache,
outputs into the LLM cache) and prints what it committed; the test SIGKILLs it at a random
moment, then checks that the store opens, lists, and holds every item the child reported,
intact. The registry is also killed deterministically inside a save (its COMMIT paused).
The caches must notice a half-written file and rebuild rather than fail.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PER_USER_ROWS = 10_000   # ~0.25 MB of per-user JSON per run: the write is a real share of each save
VECTORS_PER_ADD, DIM = 400, 32

CHILD = r"""
import hashlib, sys, time
import numpy as np

kind, path, generation = sys.argv[1], sys.argv[2], sys.argv[3]


def vectors(i):
    digests = np.array([hashlib.sha256(f"{generation}-{i}-{j}".encode()).digest() for j in range(VECTORS)],
                       dtype="S32")
    return digests, np.random.default_rng([int(generation), i]).standard_normal((VECTORS, DIM)).astype(np.float32)


if kind.startswith("registry"):
    import sqlite3
    import types
    import pandas as pd
    from genre.config import RunConfig
    from genre.runs import RunRegistry

    armed = []
    if kind == "registry-pause":  # stop inside the save: rows inserted, COMMIT not yet run
        connect = sqlite3.connect

        def traced(*args, **kwargs):
            db = connect(*args, **kwargs)

            def on_statement(statement):
                if armed and statement.strip().upper() == "COMMIT":
                    print("committing", flush=True)
                    time.sleep(120)
            db.set_trace_callback(on_statement)
            return db
        sqlite3.connect = traced
    registry = RunRegistry(path)
    for i in range(1, 10**6):
        armed[:] = [True] if kind == "registry-pause" and i == 4 else []
        per_user = pd.DataFrame({"ndcg@10": np.full(ROWS, i / 1000.0)})
        result = types.SimpleNamespace(
            config=RunConfig(name=f"run {generation}-{i}"), per_user=per_user,
            to_json=lambda i=i: {"metrics": {"mix": {"ndcg@10": i / 1000.0}}, "weights": {"ease": 1.0},
                                 "timings": {"fit": 0.1}})
        run_id = registry.save(result)
        print(run_id, i, flush=True)
elif kind == "embeddings":
    from genre.encoders.cache import EmbeddingCache

    cache = EmbeddingCache(path)
    for i in range(1, 10**6):
        cache.add("encoder", *vectors(i))
        print(i, flush=True)
elif kind == "llm":
    from genre.llm.cache import OutputCache

    cache = OutputCache(path)
    for i in range(1, 10**6):
        cache.put("model", f"prompt {generation}-{i}", 8, 0.0, f"output {generation}-{i} " * 50)
        print(i, flush=True)
"""


def _child_code() -> str:
    return (CHILD.replace("VECTORS", str(VECTORS_PER_ADD)).replace("DIM", str(DIM))
            .replace("ROWS", str(PER_USER_ROWS)))


def _save_until_killed(kind: str, path: Path, generation: int, *, after: int = 3,
                       until_line: str | None = None) -> list[list[str]]:
    """Run the saving child; SIGKILL it after ``after`` acknowledged saves plus a random delay
    (or as soon as it prints ``until_line``). Returns every line it printed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", _child_code(), kind, str(path), str(generation)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[list[str]] = []
    try:
        while True:
            line = child.stdout.readline()
            if not line:
                raise AssertionError(f"the child stopped by itself: {child.stderr.read()[-2000:]}")
            lines.append(line.split())
            if line.strip() == until_line:
                break
            if until_line is None and len(lines) >= after:
                time.sleep(random.uniform(0.0, 0.05))  # land anywhere in the next save
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
        lines.extend(line.split() for line in child.stdout.read().splitlines())  # saved before the kill
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return [line for line in lines if line]


# ---------------------------------------------------------------------------- run registry
def _check_registry(path: Path, acknowledged: dict[int, str]) -> None:
    from genre.runs import RunRegistry

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    registry = RunRegistry(path)
    listing = registry.list()
    assert set(acknowledged) <= set(listing["id"])
    for run_id, name in acknowledged.items():
        run = registry.load(run_id)
        i = int(name.rsplit("-", 1)[1])
        assert run["name"] == name and run["metrics"]["mix"]["ndcg@10"] == i / 1000
        assert len(run["per_user"]) == PER_USER_ROWS and (run["per_user"]["ndcg@10"] == i / 1000).all()


def test_registry_killed_while_saving_keeps_every_committed_run(tmp_path):
    path = tmp_path / "runs.sqlite"
    acknowledged: dict[int, str] = {}
    for generation in (1, 2, 3):  # three kills at random moments, each on top of the last
        for run_id, i in _save_until_killed("registry", path, generation, after=3):
            acknowledged[int(run_id)] = f"run {generation}-{i}"
        _check_registry(path, acknowledged)
    assert len(acknowledged) >= 9


def test_registry_killed_inside_a_save_keeps_the_earlier_runs_and_drops_the_half_one(tmp_path):
    path = tmp_path / "runs.sqlite"
    lines = _save_until_killed("registry-pause", path, 1, until_line="committing")
    assert lines[-1] == ["committing"] and len(lines) == 4  # three saved, the fourth killed mid-save
    acknowledged = {int(run_id): f"run 1-{i}" for run_id, i in lines[:-1]}
    _check_registry(path, acknowledged)
    from genre.runs import RunRegistry

    assert list(RunRegistry(path).list()["id"]) == sorted(acknowledged)  # no trace of the fourth


# ---------------------------------------------------------------------------- embedding cache
def _expected_vectors(generation: int, i: int) -> tuple[np.ndarray, np.ndarray]:
    digests = np.array([hashlib.sha256(f"{generation}-{i}-{j}".encode()).digest()
                        for j in range(VECTORS_PER_ADD)], dtype="S32")
    return digests, np.random.default_rng([generation, i]).standard_normal((VECTORS_PER_ADD, DIM)).astype(np.float32)


def test_embedding_cache_killed_while_adding_keeps_every_added_vector(tmp_path):
    from genre.encoders.cache import EmbeddingCache

    acknowledged = []
    for generation in (1, 2):
        acknowledged += [(generation, int(i)) for (i,) in _save_until_killed("embeddings", tmp_path, generation)]
        cache = EmbeddingCache(tmp_path)  # a fresh process's view
        for gen, i in acknowledged:
            digests, vectors = _expected_vectors(gen, i)
            found, cached = cache.lookup("encoder", digests)
            assert found.all(), (gen, i)
            np.testing.assert_array_equal(cached, vectors)
    assert len(acknowledged) >= 6


def _cache_with_one_add(root: Path):
    from genre.encoders.cache import EmbeddingCache

    cache = EmbeddingCache(root)
    digests, vectors = _expected_vectors(0, 1)
    cache.add("encoder", digests, vectors)
    index = json.loads((cache.folder("encoder") / "index.json").read_text())
    return cache, digests, vectors, index


@pytest.mark.parametrize("damaged", ["vectors_file", "keys_file", "index.json"])
def test_embedding_cache_rebuilds_after_a_half_written_file(tmp_path, caplog, damaged):
    from genre.encoders.cache import EmbeddingCache

    cache, digests, vectors, index = _cache_with_one_add(tmp_path)
    folder = cache.folder("encoder")
    target = folder / (index[damaged] if damaged != "index.json" else damaged)
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])  # cut off mid-write
    fresh = EmbeddingCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="genre"):
        found, _ = fresh.lookup("encoder", digests)
    assert not found.any() and "corrupt" in caplog.text  # detected, logged, not used
    fresh.add("encoder", digests, vectors)  # rebuilt by the next write
    found, cached = EmbeddingCache(tmp_path).lookup("encoder", digests)
    assert found.all()
    np.testing.assert_array_equal(cached, vectors)
    current = json.loads((folder / "index.json").read_text())
    assert sorted(p.name for p in folder.glob("*.npy")) == sorted([current["keys_file"], current["vectors_file"]])


# ---------------------------------------------------------------------------- LLM output cache
def test_llm_cache_killed_while_writing_keeps_every_stored_output(tmp_path):
    from genre.llm.cache import OutputCache

    acknowledged = []
    for generation in (1, 2):
        acknowledged += [(generation, int(i)) for (i,) in _save_until_killed("llm", tmp_path, generation)]
        cache = OutputCache(tmp_path)
        prompts = [f"prompt {g}-{i}" for g, i in acknowledged]
        found = cache.get_many("model", prompts, 8, 0.0)
        assert found == {f"prompt {g}-{i}": f"output {g}-{i} " * 50 for g, i in acknowledged}
        cache.close()
    assert len(acknowledged) >= 6


def test_llm_cache_rebuilds_after_a_half_written_file(tmp_path):
    from genre.llm.cache import OutputCache

    cache = OutputCache(tmp_path)
    for i in range(300):
        cache.put("model", f"prompt {i}", 8, 0.0, "output " * 40)
    cache.close()
    for leftover in tmp_path.glob("outputs.sqlite-*"):
        leftover.unlink()
    path = tmp_path / "outputs.sqlite"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    rebuilt = OutputCache(tmp_path)
    rebuilt.put("model", "prompt 0", 8, 0.0, "again")
    assert rebuilt.get("model", "prompt 0", 8, 0.0) == "again"
