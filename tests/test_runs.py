import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from genre.config import RunConfig
from genre.errors import GenreError
from genre.pipeline import RunResult
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
