"""genre.compare and genre.viz_compare: intervals, measurable differences, weight tables, a sweep's best
point and Auto-tune's report — on real per-user values of a real run (no Streamlit)."""

import math

import numpy as np
import pandas as pd
import pytest

from genre.compare import (CATALOGUE, EXACT, WITHIN, SavedRun, TuneReport, best_point, difference, differences,
                           grid_best, interval_table, sentence, sweep_best, weight_table)
from genre.evaluate import half_width
from genre.viz_compare import (comparison_intervals_bar, heatmap_best_figure, metrics_intervals_bar,
                               sweep_best_figure, tuning_curve_before_figure)


def _per_user(values, users=None):
    values = np.asarray(values, dtype=float)
    return pd.DataFrame({"ndcg@10": values}, index=pd.Index(users if users is not None else range(len(values))))


def _run(label, values, weights=None, key="same", stored=True):
    per_user = _per_user(values)
    metrics = {"ndcg@10": float(per_user["ndcg@10"].mean()), "coverage@10": 0.3}
    intervals = {"ndcg@10": half_width(per_user["ndcg@10"].to_numpy()), "coverage@10": None} if stored else {}
    return SavedRun(label, weights or {"pop": 0.5, "knn": 0.5}, metrics, intervals, per_user, key)


def test_stored_intervals_are_used_and_missing_ones_come_from_the_per_user_values():
    rng = np.random.default_rng(0)
    values = rng.random(200)
    stored, recomputed = _run("#1 a", values), _run("#2 b", values, stored=False)
    value, width, basis = stored.interval("ndcg@10")
    assert value == pytest.approx(values.mean()) and width == pytest.approx(1.96 * values.std(ddof=1) / math.sqrt(200))
    assert basis == "95 % interval over 200 users"
    assert recomputed.interval("ndcg@10")[1] == pytest.approx(width)
    assert "per-user values" in recomputed.interval("ndcg@10")[2]
    assert stored.interval("coverage@10") == (0.3, None, CATALOGUE)
    bare = SavedRun("#3 c", {}, {"ndcg@10": 0.2})
    assert bare.interval("ndcg@10") == (0.2, None, EXACT)
    table = interval_table([stored, bare], "ndcg@10")
    assert list(table["run"]) == ["#1 a", "#3 c"] and math.isnan(table["half_width"].iloc[1])
    assert table["low"].iloc[0] == pytest.approx(value - width)


def test_a_small_difference_within_the_interval_is_not_measurable():
    rng = np.random.default_rng(1)
    a = rng.random(60)
    b = a + rng.normal(0, 0.2, 60)  # the case: 0.16 vs 0.16 ± 0.05, noise only
    row = difference(_run("#1 a", a, key=None), _run("#2 b", b, key=None), "ndcg@10")
    assert not row["paired"] and row["half_width"] == pytest.approx(math.hypot(half_width(a), half_width(b)))
    assert row["measurable"] is False and row["note"] == WITHIN
    assert "within the 95 % interval: not a measurable difference" in sentence(row, "ndcg@10")


def test_same_users_are_compared_paired_which_finds_a_consistent_small_gain():
    rng = np.random.default_rng(2)
    a = rng.random(500)
    b = a + 0.01  # every user gains 0.01: far inside each run's own ± 0.025, yet certain
    first, second = _run("#1 a", a), _run("#2 b", b)
    unpaired = math.hypot(first.interval("ndcg@10")[1], second.interval("ndcg@10")[1])
    assert 0.01 < unpaired  # side by side the intervals overlap
    row = difference(first, second, "ndcg@10")
    assert row["paired"] and row["half_width"] == pytest.approx(0.0, abs=1e-12)
    assert row["difference"] == pytest.approx(0.01) and row["measurable"] is True
    assert "paired over the same 500 users" in sentence(row, "ndcg@10")
    other_users = SavedRun("#3 c", {}, second.metrics, second.intervals, _per_user(b, range(1, 501)), "same")
    assert not difference(first, other_users, "ndcg@10")["paired"]  # not the same users: not paired


def test_differences_are_against_the_reference_run():
    runs = [_run("#1 a", np.full(10, 0.1)), _run("#2 b", np.full(10, 0.3)), _run("#3 c", np.full(10, 0.3))]
    frame = differences(runs, "ndcg@10", reference=1)
    assert list(frame["run"]) == ["#1 a", "#3 c"] and set(frame["vs"]) == {"#2 b"}
    assert frame["difference"].tolist() == pytest.approx([-0.2, 0.0])
    assert frame["note"].iloc[1] == "identical on every user"


def test_weight_table_marks_the_weights_that_differ():
    runs = [SavedRun("#1 a", {"pop": 0.5, "knn": 0.5}, {}), SavedRun("#2 b", {"pop": 0.0, "knn": 0.5}, {}),
            SavedRun("#3 c", {"pop": 0.5, "knn": 0.5, "ease": 1.0}, {})]
    table = weight_table(runs)
    assert list(table.index) == ["pop", "knn", "ease"]
    assert table.loc["pop", "#2 b"] == 0.0 and math.isnan(table.loc["ease", "#1 a"])
    assert table["differs"].tolist() == [True, False, True]


def test_best_points_of_a_sweep_and_a_heat_map_keep_the_other_weights():
    sweep = pd.DataFrame({"weight": [0.0, 0.5, 1.0], "ndcg@10": [0.1, 0.3, 0.3]})
    weights, score = sweep_best(sweep, "ndcg@10", {"pop": 0.2, "knn": 0.7}, "pop")
    assert weights == {"pop": 0.5, "knn": 0.7} and score == 0.3  # ties: the first (lowest weight)
    grid = pd.DataFrame({"pop": [0.0, 1.0, 0.0], "knn": [1.0, 1.0, 0.5], "ndcg@10": [0.2, 0.1, 0.25]})
    assert grid_best(grid, "ndcg@10", {"pop": 1, "knn": 1, "ease": 0.4}, "pop", "knn") == (
        {"pop": 0.0, "knn": 0.5, "ease": 0.4}, 0.25)
    with pytest.raises(ValueError):
        best_point(sweep, "recall@10", {}, ["weight"])


def test_tune_report_says_why_test_can_move_the_other_way():
    down = TuneReport("ndcg@10", 0.20, 0.23, 0.1638, 0.1584, 0.0145)
    assert down.test_went_down and down.test_change_within_interval
    assert "validation" in down.why() and "not a measurable change" in down.why()
    up = TuneReport("ndcg@10", 0.20, 0.23, 0.1279, 0.1323, 0.0138)
    assert "+0.0044, within its ± 0.0138 interval" in up.why()
    far = TuneReport("ndcg@10", 0.20, 0.23, 0.20, 0.10, 0.01)
    assert "beyond its interval" in far.why()
    assert not TuneReport("ndcg@10", None, 0.23, 0.1, 0.2).test_went_down


def test_figures_draw_intervals_as_error_bars_and_star_the_best_point():
    metrics = pd.DataFrame({"ndcg@10": [0.1, 0.2], "coverage@10": [0.5, 0.4]}, index=["popularity", "mix"])
    intervals = pd.DataFrame({"ndcg@10": [0.01, 0.02], "coverage@10": [np.nan, np.nan]}, index=metrics.index)
    bars = metrics_intervals_bar(metrics, intervals, ["ndcg@10", "coverage@10"])
    assert [t.name for t in bars.data] == ["popularity", "mix"]
    assert list(bars.data[1].error_y.array) == [0.02, None]  # coverage: no interval, no bar
    runs = interval_table([_run("#1 <b>a</b>", np.full(5, 0.1)), SavedRun("#2 b", {}, {"ndcg@10": 0.2})], "ndcg@10")
    compared = comparison_intervals_bar(runs, "ndcg@10")
    assert compared.layout.title.text == "ndcg@10 by run" and "<b>" not in compared.data[0].x[0]
    assert list(compared.data[0].error_y.array) == [0.0, None] and compared.data[0].text[1] == "0.2000"
    sweep = sweep_best_figure(pd.DataFrame({"weight": [0.0, 0.5, 1.0], "ndcg@10": [0.1, 0.3, 0.2]}), "ndcg@10",
                              current=1.0, on="validation")
    assert list(sweep.data[-1].x) == [0.5] and sweep.data[-1].marker.symbol == "star"
    grid = pd.DataFrame({"a": [0.0, 1.0, 0.0, 1.0], "b": [0.0, 0.0, 1.0, 1.0], "m": [np.nan, 0.2, 0.4, 0.1]})
    heat = heatmap_best_figure(grid, "a", "b", "m", current={"a": 1.0, "b": 1.0})
    assert (heat.data[1].x[0], heat.data[1].y[0]) == (0.0, 1.0) and heat.data[2].name == "current"
    curve = tuning_curve_before_figure(pd.DataFrame({"trial": [1, 2], "ndcg@10": [0.1, 0.2]}), "ndcg@10", 0.15)
    assert curve.layout.shapes[0].y0 == 0.15 and "before tuning 0.1500" in curve.layout.annotations[0].text
