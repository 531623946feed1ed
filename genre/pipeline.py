"""The run: config → data → split → features → (tune →) fit → score into the store → evaluate.

``Experiment`` orchestrates one run and hands back a ``TrainedRun`` (genre.trained): the
object that serves the result — weights, re-mixes, sweeps, recommendations, explanations.
The models score the evaluated users once, in batches, into the candidate store
(``genre.store``), from which every mix — and each algorithm alone — is evaluated. The config handed in is never modified:
tuned weights and parameters live in the trained run (and its ``RunResult.config``). Above
``evaluation.max_users`` test users a seeded sample is evaluated, with 95 % intervals.

Examples
--------
>>> from genre.config import RunConfig
>>> trained = Experiment(RunConfig.from_dict({"algorithms": [{"name": "popularity"}]})).train()  # doctest: +SKIP
>>> trained.result_.metrics.loc["mix", "ndcg@10"]                                            # doctest: +SKIP
0.0885...
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
from genre.features import Features
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


class Experiment:
    """One run of a config.

    Parameters
    ----------
    config : RunConfig
        Read, never modified.
    dataset : Dataset, optional
        Already-loaded data (the app passes its session's dataset); otherwise loaded from
        ``config.data``.
    cache_dir : path, optional
        Embedding / LLM cache folder (default ``genre.encoders.default_cache_dir()``).
    """

    def __init__(self, config: RunConfig, dataset: Dataset | None = None,
                 cache_dir: str | Path | None = None):
        self.config = config
        self.dataset = dataset
        self.cache_dir = cache_dir

    def run(self, progress: Progress | None = None) -> RunResult:
        """Train and evaluate; the result (the trained run stays in ``trained_``)."""
        self.trained_ = self.train(progress)
        return self.trained_.result_

    def train(self, progress: Progress | None = None) -> "TrainedRun":
        """Load, split, build features, (tune,) fit, score into the store and evaluate."""
        from genre.split import split_interactions
        from genre.trained import TrainedRun

        config = RunConfig.from_dict(self.config.to_dict())  # ours to fill with tuned values
        timings: dict[str, float] = {}
        report, notes = Reporter(progress), Notes()
        with _Timer(timings, "load"):
            dataset = self.dataset
            if dataset is None:
                report("loading data")
                dataset = load_from_config(config)
        with _Timer(timings, "split"):
            report("splitting")
            split = split_interactions(dataset.interactions, dataset.n_users, dataset.n_items,
                                       config.split.method, **{"seed": config.seed, **config.split.params})
        fitter = Fitter(dataset, config, self.cache_dir, timings, report)
        tuning = curves = None
        if config.tuning.enabled:
            tuning, curves, models, features = tune_and_fit(fitter, split, notes, report)
        else:
            models, features = fitter.fit_all(split)
        users, note = sample_test_users(split, config)
        notes.add(note)
        report("scoring and evaluating each algorithm")
        store, singles = score_and_evaluate(models, split, users, config, features, timings, report)
        log.info("candidate store: %d users × %.0f candidates on average (C=%d), %.1f MB", len(store.users),
                 len(store.items) / max(len(store.users), 1), store.candidates, store.nbytes / 2**20)
        trained = TrainedRun(config=config, dataset=dataset, split=split, features=features, models=models,
                             store=store, single_metrics=singles, timings=timings, notes=notes.messages,
                             tuning=tuning, cache_dir=self.cache_dir, feature_report=fitter.feature_report,
                             parameter_curves=curves)
        report("evaluating the mix")
        trained.set_weights({a.name: a.weight for a in config.algorithms if a.enabled})
        return trained


def tune_and_fit(fitter: "Fitter", split: Split, notes: "Notes", report: "Reporter"
                 ) -> tuple[Any, dict, dict[str, Recommender], Features]:
    """Tune on the validation carve, and fit every algorithm on all of TRAIN.

    When only weights are tuned the final fits do not depend on the tuning, so they run in a
    second thread meanwhile: on the 2-core machine the two sets of fits (LAPACK, implicit
    and scipy release the GIL) overlap instead of queueing. Same fits, same results; with
    hyper-parameter tuning (which changes the final fits) they run after it.
    """
    from concurrent.futures import ThreadPoolExecutor

    from genre.tune import tune_on_validation

    config = fitter.config
    overlap = not config.tuning.hyperparameters and not any(a.kind == "profile" for a in fitter.enabled)
    if not overlap:
        with _Timer(fitter.timings, "tune"):
            tuning, curves = tune_on_validation(fitter, split, notes, report)
        return (tuning, curves, *fitter.fit_all(split))
    features = fitter.features(split)
    final = Fitter(fitter.dataset, config, fitter.cache_dir, {}, Reporter(None))  # silent: not the UI thread
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="genre-fit") as pool:
        report("fitting on all training data while tuning on validation")
        fits = pool.submit(final.fit_all, split, "", features)
        with _Timer(fitter.timings, "tune"):
            tuning, curves = tune_on_validation(fitter, split, notes, report)
        models, _ = fits.result()
    fitter.timings.update(final.timings)
    return tuning, curves, models, features


def sample_test_users(split: Split, config: RunConfig, what: str = "test") -> tuple[np.ndarray, str | None]:
    """The evaluated users: all test users, or a seeded sample above ``evaluation.max_users``."""
    from genre.evaluate import sample_users

    return sample_users(split, config.evaluation.max_users, config.seed, what)


def candidates_of(config: RunConfig) -> int:
    """Items kept per user and algorithm in the store (``fusion.candidates``)."""
    return int(config.fusion.candidates)


def score_and_evaluate(models: dict[str, Recommender], split: Split, users: np.ndarray, config: RunConfig,
                       features: Features, timings: dict[str, float], report: "Reporter"
                       ) -> tuple[CandidateStore, dict[str, Any]]:
    """Score every model over ``users`` once into the store, then evaluate each algorithm alone
    from it: a one-hot mix ranks exactly as that algorithm's dense scores (its own top-C are
    all candidates), so only its AUC is estimated (from the store's sampled negatives)."""
    from genre.evaluate import evaluate_store

    store = build_store(models, split, users, config.fusion, candidates=candidates_of(config), seed=config.seed,
                        progress=report.sub("scoring"))
    timings.update({f"score {name}": seconds for name, seconds in store.seconds.items()})
    began = time.perf_counter()
    singles = evaluate_store(store, {name: {name: 1.0} for name in models}, ks=tuple(config.evaluation.ks),
                             item_vectors=features.item_vectors)
    timings["evaluate algorithms"] = time.perf_counter() - began
    return store, singles


class Fitter:
    """Builds features and fits every enabled algorithm of a config on a split's training part."""

    def __init__(self, dataset: Dataset, config: RunConfig, cache_dir: str | Path | None,
                 timings: dict[str, float], report: "Reporter"):
        self.dataset, self.config, self.cache_dir = dataset, config, cache_dir
        self.timings, self.report = timings, report
        self.feature_report = None

    @property
    def enabled(self):
        return [a for a in self.config.algorithms if a.enabled]

    def features(self, split: Split, stage: str = "") -> Features:
        from genre.featurize import build_features

        with _Timer(self.timings, f"{stage}features"):
            self.report(f"{stage}building item features")
            features, self.feature_report = build_features(
                self.dataset, split.train, split.test, self.config.features,
                cache_dir=self.cache_dir, progress=self.report.sub("encoding"),
                spaces={a.name: a.features for a in self.enabled if a.features is not None})
        return features

    def fit_all(self, split: Split, stage: str = "", features: Features | None = None
                ) -> tuple[dict[str, Recommender], Features]:
        """Fit every enabled algorithm on ``split.train`` (features built unless given)."""
        features = self.features(split, stage) if features is None else features
        train = split.train_matrix()
        models = {}
        for algo in self.enabled:
            with _Timer(self.timings, f"{stage}fit {algo.name}"):
                self.report(f"{stage}fitting {algo.name}")
                models[algo.name] = self.fit_one(algo.name, algo.params, train, features)
        return models, features

    def fit_one(self, name: str, params: dict, train, features: Features) -> Recommender:
        """Fit the config's entry ``name`` (on its own item-vector space when it has one)."""
        kind, own = self.config.algorithm(name).kind, features.for_algorithm(name)
        if kind == "profile":
            from genre.featurize import profile_features

            own = profile_features(self.dataset, features, self.config.features, cache_dir=self.cache_dir)
        return make_algorithm(kind, **params).fit(train, own, progress=self.report.sub(f"fitting {name}"))


def load_from_config(config: RunConfig) -> Dataset:
    """Load and clean the data a config names."""
    from genre.data import CleaningOptions, ColumnMapping, load_dataset

    data = config.data
    return load_dataset(data.source, items=data.items,
                        mapping=ColumnMapping.from_dict(data.mapping) if data.mapping else None,
                        cleaning=CleaningOptions.from_dict(data.cleaning), encoding=data.encoding)


class Notes:
    """Notes for the result, each once, logged as they come."""

    def __init__(self):
        self.messages: list[str] = []

    def add(self, *messages: str | None) -> None:
        for message in messages:
            if message and message not in self.messages:
                log.info(message)
                self.messages.append(message)


class _Timer:
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
