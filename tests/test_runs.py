import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from genre.config import RunConfig
from genre.errors import GenreError
from genre.run import RunResult
from genre.runs import RunRegistry


def _result(ndcg: float, name: str = "run") -> RunResult:
    metrics = pd.DataFrame({"ndcg@10": [ndcg, ndcg / 2], "recall@10": [0.05, 0.02]}, index=["mix", "ease"])
    per_user = pd.DataFrame({"ndcg@10": [ndcg, ndcg]}, index=[3, 7])
    return RunResult(metrics=metrics, per_user=per_user, slices=pd.DataFrame(), weights={"ease": 1.0},
                     timings={"fit ease": 1.5}, config=RunConfig(name=name))


def test_save_list_load_compare(tmp_path):
    registry = RunRegistry(tmp_path / "runs.sqlite")
    first = registry.save(_result(0.13), name="ease only")
    second = registry.save(_result(0.14), name="mix")
    listing = registry.list()
    assert list(listing["id"]) == [first, second] and list(listing["name"]) == ["ease only", "mix"]
    loaded = registry.load(second)
    assert loaded["metrics"]["mix"]["ndcg@10"] == 0.14
    assert loaded["config"] == RunConfig(name="run")
    assert list(loaded["per_user"].index) == [3, 7]
    compared = registry.compare([first, second])
    assert compared.loc["ndcg@10"].tolist() == [0.13, 0.14]
    with pytest.raises(GenreError, match="no saved run with id 99"):
        registry.load(99)


def test_a_reader_in_another_process_sees_runs_while_this_one_writes(tmp_path):
    path = tmp_path / "runs.sqlite"
    registry = RunRegistry(path)
    registry.save(_result(0.1))
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from genre.runs import RunRegistry
        reg = RunRegistry({str(path)!r})
        counts = []
        for _ in range(40):
            counts.append(len(reg.list()))
            time.sleep(0.01)
        print(min(counts), max(counts))
    """)], stdout=subprocess.PIPE, text=True)
    for i in range(20):
        registry.save(_result(0.1 + i / 1000))
    out, _ = reader.communicate(timeout=120)
    low, high = map(int, out.split())
    assert reader.returncode == 0 and low >= 1 and high <= 21
    assert len(registry.list()) == 21


def test_per_user_metrics_round_trip_exactly(tmp_path):
    registry = RunRegistry(tmp_path / "runs.sqlite")
    result = _result(0.1)
    values = [i / 1000 for i in range(1, 400)] + [0.1 + 0.2, float("nan")]
    result.per_user = pd.DataFrame({"ndcg@10": values}, index=range(len(values)))
    loaded = registry.load(registry.save(result))["per_user"]
    assert loaded["ndcg@10"].iloc[:-1].tolist() == values[:-1] and pd.isna(loaded["ndcg@10"].iloc[-1])


# ---------------------------------------------------------------------------- per-session runs (issue 10 §4)
@pytest.fixture
def private(monkeypatch):
    monkeypatch.delenv("GENRE_SHARE_RUNS", raising=False)


def test_a_session_sees_and_opens_only_its_own_runs(tmp_path, private):
    path = tmp_path / "runs.sqlite"
    alice, bob = RunRegistry(path, owner="alice"), RunRegistry(path, owner="bob")
    mine = alice.save(_result(0.1), name="alice's")
    theirs = bob.save(_result(0.2), name="bob's")
    assert list(alice.list()["id"]) == [mine] and list(alice.list()["owner"]) == ["alice"]
    assert list(bob.list(scope="own")["id"]) == [theirs]
    for action in (lambda: alice.load(theirs), lambda: alice.compare([mine, theirs]),
                   lambda: alice.delete(theirs), lambda: alice.list(scope="all")):
        with pytest.raises(GenreError, match="GENRE_SHARE_RUNS=1|another session"):
            action()
    assert alice.load(mine)["owner"] == "alice"
    assert list(RunRegistry(path).list()["id"]) == [mine, theirs]  # no owner (the CLI): every run


def test_sharing_lets_sessions_list_and_compare_each_others_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_SHARE_RUNS", "1")
    path = tmp_path / "runs.sqlite"
    alice, bob = RunRegistry(path, owner="alice"), RunRegistry(path, owner="bob")
    mine, theirs = alice.save(_result(0.1)), bob.save(_result(0.2))
    assert list(alice.list()["id"]) == [mine]  # own by default, even when shared
    assert list(alice.list(scope="all")["id"]) == [mine, theirs]
    assert alice.compare([mine, theirs]).loc["ndcg@10"].tolist() == [0.1, 0.2]
    with pytest.raises(GenreError, match="only its owner"):
        alice.delete(theirs)
    with pytest.raises(GenreError, match="unknown run scope"):
        alice.list(scope="everyone")


def test_a_registry_from_before_owners_is_migrated(tmp_path, private):
    import sqlite3

    path = tmp_path / "runs.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, "
                   "created REAL NOT NULL, config TEXT NOT NULL, metrics TEXT NOT NULL, weights TEXT NOT NULL, "
                   "timings TEXT NOT NULL, per_user TEXT NOT NULL)")
        db.execute("INSERT INTO runs (name, created, config, metrics, weights, timings, per_user) VALUES "
                   "('old', 0, 'name: old', '{\"mix\": {\"ndcg@10\": 0.3}}', '{\"ease\": 1.0}', '{}', "
                   "'{\"index\": [], \"columns\": [], \"data\": []}')")
    db.close()
    assert RunRegistry(path).list()[["name", "owner"]].values.tolist() == [["old", None]]
    session = RunRegistry(path, owner="s1")
    assert len(session.list()) == 0  # legacy runs have no owner: not this session's
    session.save(_result(0.1))
    assert RunRegistry(path).list()["owner"].isna().tolist() == [True, False]


@pytest.mark.parametrize("damage", [b"this is not a database at all" * 100,
                                    b"SQLite format 3\x00" + bytes(range(256)) * 16])
def test_a_corrupt_registry_is_set_aside_and_rebuilt(tmp_path, damage, caplog):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(damage)
    with caplog.at_level("WARNING", logger="genre"):
        registry = RunRegistry(path, owner="s")
    assert len(registry.list()) == 0
    aside = list(tmp_path.glob("runs.corrupt-*.sqlite"))
    assert len(aside) == 1 and aside[0].read_bytes() == damage
    assert "moved to" in caplog.text and "rebuilt empty" in caplog.text
    registry.save(_result(0.1))
    assert len(RunRegistry(path, owner="s").list()) == 1



@pytest.mark.parametrize("where", ["a folder", "under a file"])
def test_a_registry_that_cannot_be_opened_is_one_genre_error(tmp_path, where):
    """Not damage (nothing is set aside): a path that is a folder, or whose parent is a file."""
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    path = tmp_path / "folder" if where == "a folder" else tmp_path / "file" / "runs.sqlite"
    with pytest.raises(GenreError, match="run registry.*cannot be opened"):
        RunRegistry(path)
    assert (tmp_path / "file").read_text() == "x" and (tmp_path / "folder").is_dir()


# ---------------------------------------------------------------------------- runs saved with their models
class _FakeTrained:
    """What ``save_with_models`` asks of a TrainedRun: its result and ``save(folder)``."""

    def __init__(self, fail: bool = False):
        self.result_, self.fail = _result(0.2), fail

    def save(self, path):
        if self.fail:
            raise GenreError("disk full")
        path.mkdir(parents=True)
        (path / "manifest.json").write_text("{}")
        return {"bytes": 2, "config_sha256": "x"}


def test_a_run_saved_with_models_records_its_folder_under_its_owner(tmp_path, private):
    path, root = tmp_path / "runs.sqlite", tmp_path / "models"
    alice, bob = RunRegistry(path, owner="alice", models_root=root), RunRegistry(path, owner="bob", models_root=root)
    run_id, manifest = alice.save_with_models(_FakeTrained(), name="with models")
    plain = alice.save(_result(0.1))
    assert manifest["bytes"] == 2
    folder = alice.models_path(run_id)
    assert folder == alice.models_folder(run_id).resolve() and alice.owner_folder().resolve() in folder.parents
    assert alice.list().set_index("id")["models"].to_dict() == {run_id: True, plain: False}
    with pytest.raises(GenreError, match="without its models"):
        alice.models_path(plain)
    with pytest.raises(GenreError, match="only its owner can open its models"):
        bob.models_path(run_id)
    assert alice.owner_folder() != bob.owner_folder()
    alice.delete(run_id)
    assert not folder.exists() and list(alice.list()["id"]) == [plain]


def test_models_of_another_owner_stay_closed_even_when_runs_are_shared(tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_SHARE_RUNS", "1")
    path, root = tmp_path / "runs.sqlite", tmp_path / "models"
    run_id, _ = RunRegistry(path, owner="alice", models_root=root).save_with_models(_FakeTrained())
    bob = RunRegistry(path, owner="bob", models_root=root)
    assert bob.list("all")["models"].tolist() == [True]  # listed and comparable when shared...
    with pytest.raises(GenreError, match="only its owner"):  # ...but the folder holds alice's data
        bob.models_path(run_id)


@pytest.mark.parametrize("owner", ["../../etc", "a/b", "..", "session-1\x00", "ü" * 80])
def test_an_owner_name_never_leaves_the_saved_models_folder(tmp_path, owner):
    registry = RunRegistry(tmp_path / "runs.sqlite", owner=owner, models_root=tmp_path / "models")
    folder = registry.models_folder(7)
    assert folder.parent.parent == tmp_path / "models" and "/" not in folder.parent.name
    assert folder.parent.name not in (".", "..")


def test_a_failed_model_save_leaves_no_run_and_a_moved_folder_is_refused(tmp_path, private):
    import sqlite3

    path, root = tmp_path / "runs.sqlite", tmp_path / "models"
    registry = RunRegistry(path, owner="alice", models_root=root)
    with pytest.raises(GenreError, match="disk full"):
        registry.save_with_models(_FakeTrained(fail=True))
    assert len(registry.list()) == 0
    run_id, _ = registry.save_with_models(_FakeTrained())
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with sqlite3.connect(path) as db:  # a registry row edited to point outside the owner's folder
        db.execute("UPDATE runs SET models = ? WHERE id = ?", (str(outside), run_id))
    db.close()
    with pytest.raises(GenreError, match="outside this owner's saved models"):
        registry.models_path(run_id)


def test_a_registry_from_before_saved_models_opens_and_gains_the_column(tmp_path, private):
    import sqlite3

    path = tmp_path / "runs.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, "
                   "created REAL NOT NULL, config TEXT NOT NULL, metrics TEXT NOT NULL, weights TEXT NOT NULL, "
                   "timings TEXT NOT NULL, per_user TEXT NOT NULL, owner TEXT)")
        db.execute("INSERT INTO runs (name, created, config, metrics, weights, timings, per_user, owner) VALUES "
                   "('old', 0, 'name: old', '{\"mix\": {\"ndcg@10\": 0.3}}', '{\"ease\": 1.0}', '{}', "
                   "'{\"index\": [], \"columns\": [], \"data\": []}', 's1')")
    db.close()
    registry = RunRegistry(path, owner="s1", models_root=tmp_path / "models")
    assert registry.list()[["name", "models"]].values.tolist() == [["old", False]]
    assert registry.load(1)["name"] == "old"
    with pytest.raises(GenreError, match="without its models"):
        registry.models_path(1)


def test_saved_models_stay_under_their_quota(tmp_path, private, monkeypatch):
    registry = RunRegistry(tmp_path / "runs.sqlite", owner="alice", models_root=tmp_path / "models")
    registry.save_with_models(_FakeTrained())  # 2 bytes
    monkeypatch.setenv("GENRE_SAVED_MODELS_QUOTA_MB", str(3 / 2**20))
    with pytest.raises(GenreError, match="over their 0 MB quota"):
        registry.save_with_models(_FakeTrained())
    assert len(registry.list()) == 1 and len(list(registry.owner_folder().iterdir())) == 1
    monkeypatch.setenv("GENRE_SAVED_MODELS_QUOTA_MB", "lots")
    with pytest.raises(GenreError, match="GENRE_SAVED_MODELS_QUOTA_MB must be a number"):
        registry.save_with_models(_FakeTrained())
