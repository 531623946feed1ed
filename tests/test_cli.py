"""The CLI as a user runs it: a subprocess with the sample data."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def genre(*args: str, registry: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "genre", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1",
                               "HOME": str(registry.parent if registry else ROOT),
                               "GENRE_HOME": str(registry.parent) if registry else str(ROOT / ".genre-cache"), **env})


def test_info_reports_preset_and_counts():
    out = genre("info", "sample_data", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["preset"] == "movielens"
    assert (info["n_users"], info["n_items"], info["n_interactions"]) == (610, 9724, 100836)


def test_evaluate_popularity_reproduces_the_benchmark_reference():
    out = genre("evaluate", "sample_data", "--algorithm", "popularity", "--json")
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout)
    assert metrics["ndcg@10"] == pytest.approx(0.0885, abs=5e-4)
    assert metrics["recall@10"] == pytest.approx(0.0384, abs=5e-4)


def test_run_saves_a_run_and_runs_lists_and_compares_it(tmp_path):
    registry = tmp_path / "runs.sqlite"
    out = genre("run", "configs/genre_pref.yaml", "--json", "--registry", str(registry))
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert set(record) == {"metrics", "intervals", "weights", "timings", "run_id"}
    assert 0 < record["metrics"]["mix"]["ndcg@10"] < 1 and record["weights"] == {"genre_pref": 1.0}
    listing = genre("runs", "--registry", str(registry), "--json")
    assert json.loads(listing.stdout)[0]["id"] == record["run_id"]
    compared = genre("runs", "--registry", str(registry), "--compare", str(record["run_id"]))
    assert compared.returncode == 0 and "ndcg@10" in compared.stdout


def test_run_data_runs_a_config_on_other_data(tmp_path):
    """``--data``: the mix a config holds, on the data named on the command line (here a copy of the sample)."""
    config = tmp_path / "popularity.yaml"
    config.write_text("data: {source: designed_on_a_sample_that_is_gone}\nfeatures: {modalities: []}\n"
                      "algorithms: [{name: popularity}]\n", encoding="utf-8")
    copy = tmp_path / "whole_log.csv"
    copy.write_bytes((ROOT / "sample_data" / "ratings.csv").read_bytes())
    assert "no such file" in genre("run", str(config), "--no-save").stderr
    out = genre("run", str(config), "--no-save", "--json", "--data", str(copy))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["metrics"]["popularity"]["ndcg@10"] == pytest.approx(0.0885, abs=5e-4)


def test_a_command_line_run_sits_in_the_apps_saved_runs_of_the_same_user(tmp_path):
    """``GENRE_USER``: the app's sessions and ``genre run`` (either engine) save under one owner."""
    from genre.runs import RunRegistry

    registry = tmp_path / "runs.sqlite"
    out = genre("run", "configs/genre_pref.yaml", "--json", "--registry", str(registry), GENRE_USER="alice")
    assert out.returncode == 0, out.stderr
    run_id = json.loads(out.stdout)["run_id"]
    assert RunRegistry(registry, owner="alice").list()["id"].tolist() == [run_id]   # what alice's app lists
    assert RunRegistry(registry, owner="session-someone-else").list().empty


def test_recommend_prints_explained_items():
    out = genre("recommend", "configs/genre_pref.yaml", "--user", "1", "-k", "5", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert all("contrib_genre_pref" in r and r["title"] for r in rows)


@pytest.mark.parametrize("args, message", [
    (["info", "no/such/folder"], "no/such/folder"),
    (["evaluate", "sample_data", "--algorithm", "magic"], "unknown algorithm 'magic'"),
    (["recommend", "configs/genre_pref.yaml", "--user", "999999"], "unknown user id"),
    (["run", "missing.yaml"], "config file missing.yaml not found"),
])
def test_errors_print_one_line_and_exit_2(args, message):
    out = genre(*args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------- issue 10: one line, exit 2, never a traceback
def _write(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text)
    return str(folder / name)


def _binary_ids(folder: Path) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"user": [b"\x01", b"\xff"], "item": [10, 11]}), folder / "binary.parquet")
    return str(folder / "binary.parquet")


def _laughs(folder: Path) -> str:
    text, previous = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n', "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
        previous = name
    return _write(folder, "laughs.yaml", text)


@pytest.mark.parametrize("make_args, message", [
    (lambda d: ["evaluate", "sample_data", "--seed", "-1"], "config.seed must be an integer in [0, 4294967295]"),
    (lambda d: ["run", _write(d, "t.yaml", "fusion: {temperature: 0}\n")], "config.fusion.temperature must be"),
    (lambda d: ["run", _write(d, "m.yaml", "tuning: {metric: accuracy}\n")], "unknown metric 'accuracy'"),
    (lambda d: ["run", _write(d, "e.yaml", "data: {encoding: klingon-8}\n")], "unknown text encoding"),
    (lambda d: ["run", str(d)], "is a folder; give the path of a .yaml file"),
    (lambda d: ["run", _laughs(d)], "expands to more than 20000 values"),
    (lambda d: ["run", _write(d, "f.yaml", "algorithms: [{name: als, params: {factors: 1000000000}}]\n")],
     "als.factors must be an integer in [1, 1024]; got 1000000000"),
    (lambda d: ["run", _write(d, "w.yaml", "algorithms: [{name: ease, weight: .inf}]\n")],
     "config.algorithms[0].weight must be a number"),
    (lambda d: ["info", _binary_ids(d)], "a list or object; ids must be numbers or text"),
    (lambda d: ["evaluate", _binary_ids(d)], "a list or object; ids must be numbers or text"),
    (lambda d: ["evaluate", "sample_data", "--algorithm", "ease", "--param", "l2=["], "ease.l2 must be a number"),
    (lambda d: ["evaluate", "sample_data", "--algorithm", "ease", "--param", "l2=nan"], "got nan"),
    (lambda d: ["evaluate", "sample_data", "--algorithm", "ease", "--param", "=3"], "write it as NAME=VALUE"),
    (lambda d: ["evaluate", "sample_data", "--algorithm", "ease", "--param", "l2="], "write it as NAME=VALUE"),
    (lambda d: ["evaluate", "sample_data", "--algorithm", "sequential", "--param", "window=1e12"],
     "sequential.window must be an integer in [1, 1000]"),
    (lambda d: ["recommend", "configs/genre_pref.yaml", "--user", "1", "-k", "1000000000000"],
     "-k must be an integer in [1, 1000]"),
])
def test_hostile_inputs_print_one_line_and_exit_2(tmp_path, make_args, message):
    out = genre(*make_args(tmp_path))
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_corrupt_registry_is_set_aside_and_the_listing_still_works(tmp_path):
    registry = tmp_path / "runs.sqlite"
    registry.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 16)
    out = genre("runs", "--registry", str(registry), registry=registry)
    assert out.returncode == 0 and "no saved runs yet" in out.stdout, out.stderr
    assert len(list(tmp_path.glob("runs.corrupt-*.sqlite"))) == 1
