"""The bottom of the run core: fit a config's algorithms on a split and score users into a store.

One recipe — fit on a split → sample the evaluated users → score them once into the candidate
store (→ evaluate each algorithm alone) — serves the run itself (``genre.run.experiment``), the
weight tuner (``genre.run.tuning``) and the validation runs behind sweeps
(``genre.run.validation_run``): ``fit_and_store``. Everything above imports from here; nothing
here imports the trained run or the orchestrator.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genre.algorithms import Recommender, make_algorithm
from genre.algorithms.base import Progress
from genre.config import RunConfig
from genre.data import Dataset
from genre.evaluate import evaluate_store, sample_users
from genre.features import Features
from genre.run.budget import check_run_memory
from genre.run.encoding import build_features, profile_features
from genre.split import Split
from genre.store import CandidateStore, build_store

log = logging.getLogger("genre")


@dataclass
class RunResult:
    """What one run measured: metrics per algorithm and for the mix, slices, weights, timings."""

    metrics: pd.DataFrame                    # index: algorithm names + "mix"; columns: "ndcg@10", ...
    per_user: pd.DataFrame                   # the mix's per-user metrics (index: user index)
    slices: pd.DataFrame                     # the mix's metrics on user-activity / item-popularity slices
    weights: dict[str, float]
    timings: dict[str, float]
    config: RunConfig                        # the config as run: tuned parameters and live weights
    tuning: Any = None                       # TuneResult when weights were tuned
    notes: list[str] = field(default_factory=list)
    intervals: pd.DataFrame | None = None    # 95 % half-widths, same shape as ``metrics``
    partial: bool = False                    # the mix measured at some cut-offs only (``TrainedRun.set_weights(ks=)``)

    def to_json(self) -> dict[str, Any]:
        """``{"metrics": {"mix": {...}, ...}, "intervals": {...}, "weights": ..., "timings": ...}``."""
        def plain(frame: pd.DataFrame | None) -> dict:
            if frame is None:
                return {}
            return {name: {k: _plain(v) for k, v in row.items()}
                    for name, row in frame.to_dict(orient="index").items()}

        return {"metrics": plain(self.metrics), "intervals": plain(self.intervals),
                "weights": dict(self.weights), "timings": {k: round(v, 3) for k, v in self.timings.items()}}


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and np.isnan(value) else float(value)


@dataclass
class StoredFit:
    """Models fitted on one split and the users they scored into a candidate store."""

    models: dict[str, Recommender]
    features: Features
    store: CandidateStore
    singles: dict[str, Any] | None           # each algorithm's own Evaluation, when asked for


def sample_test_users(split: Split, config: RunConfig, what: str = "test") -> tuple[np.ndarray, str | None]:
    """The evaluated users: all test users, or a seeded sample above ``evaluation.max_users``."""
    return sample_users(split, config.evaluation.max_users, config.seed, what)


def candidates_of(config: RunConfig) -> int:
    """Items kept per user and algorithm in the store (``fusion.candidates``)."""
    return int(config.fusion.candidates)


def fit_and_store(fitter: "Fitter", split: Split, notes: "Notes", *, what: str = "test", stage: str = "",
                  fitted: tuple[dict[str, Recommender], Features] | None = None,
                  evaluate_each: bool = True) -> StoredFit:
    """Fit (unless ``fitted`` is given) → sample the ``what`` users → score them into the store.

    With ``evaluate_each`` every algorithm is evaluated alone from the store: a one-hot mix ranks
    exactly as that algorithm's dense scores (its own top-C are all candidates), so only its AUC
    is estimated (from the store's sampled negatives).
    """
    models, features = fitter.fit_all(split, stage) if fitted is None else fitted
    users, note = sample_test_users(split, fitter.config, what)
    notes.add(note)
    config, report = fitter.config, fitter.report
    report(f"{stage}scoring and evaluating each algorithm" if evaluate_each else f"{stage}scoring")
    store = build_store(models, split, users, config.fusion, candidates=candidates_of(config), seed=config.seed,
                        progress=report.sub(f"{stage}scoring"))
    fitter.timings.update({f"{stage}score {name}": seconds for name, seconds in store.seconds.items()})
    log.info("candidate store: %d users × %.0f candidates on average (C=%d), %.1f MB", len(store.users),
             len(store.items) / max(len(store.users), 1), store.candidates, store.nbytes / 2**20)
    singles = None
    if evaluate_each:
        with Timer(fitter.timings, f"{stage}evaluate algorithms"):
            singles = evaluate_store(store, {name: {name: 1.0} for name in models},
                                     ks=tuple(config.evaluation.ks), item_vectors=features.item_vectors)
    return StoredFit(models=models, features=features, store=store, singles=singles)


class Fitter:
    """Builds features and fits every enabled algorithm of a config on a split's training part."""

    def __init__(self, dataset: Dataset, config: RunConfig, cache_dir: str | Path | None,
                 timings: dict[str, float], report: "Reporter"):
        self.dataset, self.config, self.cache_dir = dataset, config, cache_dir
        self.timings, self.report = timings, report
        self.feature_report = None
        self._memory_checked: set[tuple[int, ...]] = set()

    @property
    def enabled(self):
        return [a for a in self.config.algorithms if a.enabled]

    def check_memory(self, split: Split, copies: int = 1) -> None:
        """Refuse the run (ConfigError) when its estimated memory is over the budget, before
        anything is encoded or fitted (genre.run.budget); ``copies``: sets of fits running at once.
        Each split shape is checked (and logged) once."""
        key = (split.n_users, split.n_items, len(split.train), copies)
        if key in self._memory_checked:
            return
        estimates = check_run_memory(self.config, *key)
        self._memory_checked.add(key)
        log.info("memory estimate: %.2f GB × %d (%s)", sum(n for n, _ in estimates.values()) / 1e9, copies,
                 ", ".join(f"{name} {n / 1e9:.2f}" for name, (n, _) in estimates.items()))

    def features(self, split: Split, stage: str = "") -> Features:
        self.check_memory(split)
        with Timer(self.timings, f"{stage}features"):
            self.report(f"{stage}building item features")
            features, self.feature_report = build_features(
                self.dataset, split.train, split.test, self.config.features,
                cache_dir=self.cache_dir, progress=self.report.sub("encoding"),
                spaces={a.name: a.features for a in self.enabled if a.features is not None})
        return features

    def fit_all(self, split: Split, stage: str = "", features: Features | None = None
                ) -> tuple[dict[str, Recommender], Features]:
        """Fit every enabled algorithm on ``split.train`` (features built unless given)."""
        self.check_memory(split)
        features = self.features(split, stage) if features is None else features
        train = split.train_matrix()
        models = {}
        for algo in self.enabled:
            with Timer(self.timings, f"{stage}fit {algo.name}"):
                self.report(f"{stage}fitting {algo.name}")
                models[algo.name] = self.fit_one(algo.name, algo.params, train, features)
        return models, features

    def fit_one(self, name: str, params: dict, train, features: Features) -> Recommender:
        """Fit the config's entry ``name`` (on its own item-vector space when it has one)."""
        kind, own = self.config.algorithm(name).kind, features.for_algorithm(name)
        if kind == "profile":
            own = profile_features(self.dataset, features, self.config.features, cache_dir=self.cache_dir)
        return make_algorithm(kind, **params).fit(train, own, progress=self.report.sub(f"fitting {name}"))


class Notes:
    """Notes for the result, each once, logged as they come."""

    def __init__(self):
        self.messages: list[str] = []

    def add(self, *messages: str | None) -> None:
        for message in messages:
            if message and message not in self.messages:
                log.info(message)
                self.messages.append(message)


class Timer:
    """Adds the seconds a ``with`` block took to ``timings[stage]``."""

    def __init__(self, timings: dict[str, float], stage: str):
        self.timings, self.stage = timings, stage

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.stage] = self.timings.get(self.stage, 0.0) + time.perf_counter() - self.start


class Reporter:
    """Stage messages for the caller's ``progress(done, total, message)``; sub-progress per stage."""

    def __init__(self, progress: Progress | None):
        self.progress = progress

    def __call__(self, message: str) -> None:
        log.info(message)
        if self.progress:
            self.progress(0, 0, message)

    def sub(self, stage: str) -> Progress | None:
        if not self.progress:
            return None
        return lambda done, total, message="": self.progress(done, total, f"{stage}: {message}")
