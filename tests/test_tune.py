import numpy as np

from genre.run.tuning import tune_parameter, search_weights


def test_search_weights_finds_the_optimum_of_a_smooth_objective():
    target = np.array([0.6, 0.3, 0.1])

    def objective(weights):
        w = np.array([weights["a"], weights["b"], weights["c"]])
        return -float(((w - target) ** 2).sum())

    result = search_weights(["a", "b", "c"], objective, n_trials=30, seed=0)
    chosen = np.array([result.weights[n] for n in "abc"])
    assert np.abs(chosen - target).max() < 0.08
    assert abs(sum(result.weights.values()) - 1) < 1e-3
    assert {"trial", "stage", "a", "b", "c", "ndcg@10", "best_so_far"} <= set(result.curve.columns)
    assert result.curve["best_so_far"].is_monotonic_increasing


def test_search_weights_never_worse_than_the_best_single_algorithm():
    scores = {"a": 0.2, "b": 0.5}
    result = search_weights(["a", "b"], lambda w: max(w["a"] * scores["a"], w["b"] * scores["b"]), n_trials=5)
    assert result.score >= 0.5 and result.weights["b"] == 1.0


def test_search_weights_is_deterministic_and_reports_progress():
    calls = []
    objective = lambda w: w["a"] * (1 - w["a"])  # noqa: E731
    first = search_weights(["a", "b"], objective, n_trials=8, seed=5, progress=lambda d, t, m: calls.append(d))
    second = search_weights(["a", "b"], objective, n_trials=8, seed=5)
    assert first.weights == second.weights and calls and calls[-1] == len(first.curve)


def test_tune_parameter_picks_the_best_value():
    best, curve = tune_parameter([10, 100, 1000], lambda v: -abs(v - 120), name="l2")
    assert best == 100 and list(curve["l2"]) == [10, 100, 1000]
