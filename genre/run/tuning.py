"""Choosing mix weights and key hyper-parameters on the validation carve (never on test).

Weights: seeded random points on the weight simplex (Dirichlet), then coordinate ascent from
the best point. Each trial reads the validation candidate store (``genre.store``), so a trial
costs a sparse weighted sum and a top-k, not a re-score or a refit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from genre.algorithms import algorithm_class
from genre.algorithms.base import Progress
from genre.evaluate import evaluate, store_metric
from genre.run.fitting import Fitter, Notes, Reporter, fit_and_store, sample_test_users
from genre.split import Split, validation_split

log = logging.getLogger("genre")

#: objective(weights) -> validation metric (higher is better)
Objective = Callable[[dict[str, float]], float]


@dataclass
class TuneResult:
    """Chosen weights, their validation score, and every trial (the validation curve)."""

    weights: dict[str, float]
    score: float
    curve: pd.DataFrame          # one row per trial: trial, stage, <weight per algorithm>, metric, best_so_far
    metric: str = "ndcg@10"
    baseline: dict[str, float] | None = None   # the weights before tuning (``tune_on_validation(baseline=)``)
    baseline_score: float | None = None        # their validation score, on the same store as ``score``


def search_weights(names: list[str], objective: Objective, *, n_trials: int = 40, seed: int = 42,
                 metric: str = "ndcg@10", steps: tuple[float, ...] = (0.5, 0.25, 0.1, 0.05),
                 progress: Progress | None = None) -> TuneResult:
    """Maximise ``objective`` over non-negative weights that sum to 1.

    The random stage starts with every one-hot vertex and the uniform mix, so the result is
    never worse on validation than the best single algorithm or the plain average.
    """
    if not names:
        raise ValueError("no algorithms to weight")
    rows: list[dict] = []
    best = {"weights": None, "score": -np.inf}
    total = n_trials + len(steps) * 2 * len(names)

    def trial(weights: np.ndarray, stage: str) -> float:
        mix = {n: float(w) for n, w in zip(names, weights)}
        score = float(objective(mix))
        if score > best["score"] + 1e-12:
            best.update(weights=weights.copy(), score=score)
        rows.append({"trial": len(rows) + 1, "stage": stage, **mix, metric: score,
                     "best_so_far": best["score"]})
        if progress:
            progress(min(len(rows), total), total, f"trial {len(rows)}: {metric} {score:.4f}")
        return score

    k = len(names)
    starts = [np.eye(k)[i] for i in range(k)] + [np.full(k, 1.0 / k)]
    rng = np.random.default_rng(seed)
    random_points = rng.dirichlet(np.ones(k), size=max(n_trials - len(starts), 0)) if k > 1 else []
    for point in [*starts, *random_points][: max(n_trials, len(starts))]:
        trial(np.asarray(point, dtype=float), "random")
    if k > 1:
        for step in steps:  # coordinate ascent: move weight mass to / from one algorithm at a time
            for i in range(k):
                for direction in (+1, -1):
                    candidate = best["weights"].copy()
                    candidate[i] = max(candidate[i] + direction * step, 0.0)
                    if candidate.sum() <= 0:
                        continue
                    trial(candidate / candidate.sum(), f"ascent {step:g}")
    weights = {n: round(float(w), 4) for n, w in zip(names, best["weights"])}
    log.info("tuned weights %s (%s %.4f on validation)", weights, metric, best["score"])
    return TuneResult(weights=weights, score=float(best["score"]), curve=pd.DataFrame(rows), metric=metric)


def tune_parameter(values: list, objective: Callable[[object], float], *, name: str,
                   metric: str = "ndcg@10", progress: Progress | None = None) -> tuple[object, pd.DataFrame]:
    """Try each value of one hyper-parameter; return the best and the curve (value, metric)."""
    rows = []
    for i, value in enumerate(values):
        score = float(objective(value))
        rows.append({name: value, metric: score})
        if progress:
            progress(i + 1, len(values), f"{name}={value}: {metric} {score:.4f}")
    curve = pd.DataFrame(rows)
    return curve.loc[curve[metric].idxmax(), name], curve


def tune_on_validation(fitter: Fitter, split: Split, notes: Notes, report: Reporter,
                       baseline: dict[str, float] | None = None) -> tuple[TuneResult, dict[str, pd.DataFrame]]:
    """Choose hyper-parameters and weights on TRAIN → (TRAIN_SUB, VAL); TEST is not touched.

    ``baseline``: weights (the live mix before tuning) also scored on the same validation store, so
    "validation before → after" compares like with like (``TuneResult.baseline_score``).

    Writes the choices into ``fitter.config`` (the run's own copy). The weight search runs on
    a validation candidate store: models fitted on TRAIN_SUB score the validation users once.
    """
    config = fitter.config
    val = validation_split(split, config.split.method, **{"seed": config.seed, **config.split.params})
    metric = config.tuning.metric
    if config.tuning.hyperparameters:
        users, _ = sample_test_users(val, config, "validation")
        curves = _tune_hyperparameters(fitter, val, users, metric, report)
    else:
        curves = {}
    stored = fit_and_store(fitter, val, notes, what="validation", stage="validation: ", evaluate_each=False)
    store = stored.store

    def objective(weights: dict[str, float]) -> float:
        if not any(weights.values()):
            return -1.0
        return store_metric(store, weights, metric)

    result = search_weights(list(stored.models), objective, n_trials=config.tuning.n_trials, seed=config.seed,
                            metric=metric, progress=report.sub("tuning weights"))
    if baseline is not None:
        result.baseline = {n: float(baseline.get(n, 0.0)) for n in stored.models}
        result.baseline_score = float(objective(result.baseline))
    if config.tuning.weights:
        for algo in fitter.enabled:
            algo.weight = result.weights[algo.name]
    return result, curves


def _tune_hyperparameters(fitter: Fitter, val: Split, users: np.ndarray, metric: str,
                          report: Reporter) -> dict[str, pd.DataFrame]:
    """Each algorithm's tuning grid, one parameter at a time, on the validation users."""
    k = int(metric.split("@")[1]) if "@" in metric else 10
    features = fitter.features(val, "validation: ")
    train = val.train_matrix()
    curves = {}
    for algo in fitter.enabled:
        for param, values in algorithm_class(algo.kind).tune_grid.items():
            def objective(value, algo=algo, param=param):
                model = fitter.fit_one(algo.name, {**algo.params, param: value}, train, features)
                return evaluate(model.score, val, ks=(k,), users=users).means[metric]

            best, curve = tune_parameter(list(values), objective, name=param, metric=metric,
                                         progress=report.sub(f"tuning {algo.name}.{param}"))
            algo.params[param] = best.item() if hasattr(best, "item") else best
            curves[f"{algo.name}.{param}"] = curve
    return curves
