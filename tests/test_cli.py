"""The CLI as a user runs it: a subprocess with the sample data."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def genre(*args: str, registry: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "genre", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1",
                               "HOME": str(registry.parent if registry else ROOT),
                               "GENRE_HOME": str(registry.parent) if registry else str(ROOT / ".genre-cache")})


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
    assert set(record) == {"metrics", "weights", "timings", "run_id"}
    assert 0 < record["metrics"]["mix"]["ndcg@10"] < 1 and record["weights"] == {"genre_pref": 1.0}
    listing = genre("runs", "--registry", str(registry), "--json")
    assert json.loads(listing.stdout)[0]["id"] == record["run_id"]
    compared = genre("runs", "--registry", str(registry), "--compare", str(record["run_id"]))
    assert compared.returncode == 0 and "ndcg@10" in compared.stdout


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
