"""Experiment: config → data → split → features → fit → fuse → evaluate, as one object.

The experiment keeps each algorithm's normalised score block for the evaluated users, so a
new set of mix weights is a weighted sum and a top-k away (``set_weights``), never a refit.
On data too big for that (``genre.scores``: above ``score_budget_mb``) it keeps only the
fitted models and re-scores user batches on each pass; above ``max_eval_scores`` it evaluates
a seeded sample of the test users and says so in ``RunResult.notes``.

Examples
--------
>>> from genre.config import RunConfig
>>> exp = Experiment(RunConfig.from_dict({"algorithms": [{"name": "popularity"}]}))  # doctest: +SKIP
>>> exp.run().metrics.loc["mix", "ndcg@10"]                                        # doctest: +SKIP
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
import scipy.sparse as sp

from genre import fusion
from genre.algorithms import Recommender, make_algorithm
from genre.algorithms.base import Progress
from genre.config import RunConfig
from genre.data import Dataset
from genre.errors import ConfigError
from genre.features import Features
from genre.scores import (DEFAULT_MAX_EVAL_SCORES, DEFAULT_SCORE_BUDGET_MB, ScoreBlocks,
                          normalise_block, sample_users)
from genre.split import Split

log = logging.getLogger("genre")


@dataclass
class RunResult:
    """What one run measured: metrics per algorithm and for the mix, slices, weights, timings."""

    metrics: pd.DataFrame                    # index: algorithm names + "mix"; columns: "ndcg@10", ...
    per_user: pd.DataFrame                   # the mix's per-user metrics (index: user index)
    slices: pd.DataFrame                     # the mix's metrics on user-activity / item-popularity slices
    weights: dict[str, float]
    timings: dict[str, float]
    config: RunConfig
    tuning: Any = None                       # TuneResult when weights were tuned
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{"metrics": {"mix": {...}, "<algorithm>": {...}}, "weights": ..., "timings": ...}``."""
        metrics = {name: {k: _plain(v) for k, v in row.items()}
                   for name, row in self.metrics.to_dict(orient="index").items()}
        return {"metrics": metrics, "weights": dict(self.weights),
                "timings": {k: round(v, 3) for k, v in self.timings.items()}}


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and np.isnan(value) else float(value)


class Experiment:
    """One run of a config; holds the fitted models and score blocks for interactive use.

    Parameters
    ----------
    config : RunConfig
    dataset : Dataset, optional
        Already-loaded data (the app passes its session's dataset); otherwise loaded from
        ``config.data``.
    cache_dir : path, optional
        Embedding / LLM cache folder (default ``genre.encoders.default_cache_dir()``).
    score_budget_mb : float
        Memory for the kept score blocks (``genre.scores``); when the blocks of all algorithms
        for the evaluated users exceed it, weight changes re-score in user batches instead.
    max_eval_scores : int
        Largest evaluated users × candidate items; beyond it a seeded user sample is evaluated.
    """

    def __init__(self, config: RunConfig, dataset: Dataset | None = None,
                 cache_dir: str | Path | None = None, *,
                 score_budget_mb: float = DEFAULT_SCORE_BUDGET_MB,
                 max_eval_scores: int = DEFAULT_MAX_EVAL_SCORES):
        self.config = config
        self.dataset_ = dataset
        self.cache_dir = cache_dir
        self.score_budget_mb = score_budget_mb
        self.max_eval_scores = max_eval_scores
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ the run
    def run(self, progress: Progress | None = None) -> RunResult:
        """Load, split, build features, (tune,) fit, score, fuse and evaluate."""
        from genre.split import split_interactions

        self.timings, self.notes_ = {}, []
        cfg = self.config
        report = _Reporter(progress)
        with self._timed("load"):
            if self.dataset_ is None:
                report("loading data")
                self.dataset_ = load_from_config(cfg)
        with self._timed("split"):
            report("splitting")
            self.split_ = split_interactions(self.dataset_.interactions, self.dataset_.n_users,
                                             self.dataset_.n_items, cfg.split.method,
                                             **{"seed": cfg.seed, **cfg.split.params})
        self.tuning_ = None
        if cfg.tuning.enabled:
            with self._timed("tune"):
                self.tuning_ = self._tune(report)
        self.models_, self.features_ = self._fit_all(self.split_, report)
        users, note = sample_users(self.split_, self.max_eval_scores, cfg.seed)
        self.scores_ = ScoreBlocks(self.models_, self.split_, users, cfg.fusion,
                                   budget_mb=self.score_budget_mb, report=report)
        self.timings.update({f"score {name}": t for name, t in self.scores_.seconds.items()})
        self._note(note, self.scores_.note)
        self._single_metrics = None
        report("evaluating")
        return self.set_weights({a.name: a.weight for a in self.enabled_algorithms})

    @property
    def enabled_algorithms(self):
        return [a for a in self.config.algorithms if a.enabled]

    @property
    def users_(self) -> np.ndarray:
        """The evaluated user indices (all test users, or a seeded sample on huge data)."""
        return self.scores_.users

    @property
    def blocks_(self) -> dict[str, np.ndarray] | None:
        """Normalised score block per algorithm for ``users_``; None when above the budget."""
        return self.scores_.blocks

    def _fit_all(self, split: Split, report: "_Reporter", stage: str = ""
                 ) -> tuple[dict[str, Recommender], Features]:
        """Build features and fit every enabled algorithm on ``split.train``."""
        from genre.featurize import build_features

        with self._timed(f"{stage}features"):
            report(f"{stage}building item features")
            features, self.feature_report_ = build_features(
                self.dataset_, split.train, split.test, self.config.features,
                cache_dir=self.cache_dir, progress=report.sub("encoding"))
        train = split.train_matrix()
        models = {}
        for algo in self.enabled_algorithms:
            model = make_algorithm(algo.name, **algo.params)
            with self._timed(f"{stage}fit {algo.name}"):
                report(f"{stage}fitting {algo.name}")
                own = features
                if algo.name == "profile":
                    from genre.featurize import profile_features

                    own = profile_features(self.dataset_, features, self.config.features,
                                           cache_dir=self.cache_dir)
                model.fit(train, own, progress=report.sub(f"fitting {algo.name}"))
            models[algo.name] = model
        return models, features

    def _evaluate_mixes(self, mixes: dict[Any, dict[str, float]], singles: bool,
                        with_vectors: bool = True) -> dict:
        """``ScoreBlocks.evaluate`` over the test users; re-scoring time goes to ``timings``."""
        start = time.perf_counter()
        result = self.scores_.evaluate(mixes, singles=singles, ks=tuple(self.config.evaluation.ks),
                                       item_vectors=self.features_.item_vectors if with_vectors else None)
        if not self.scores_.kept:
            self.timings.update({f"score {name}": t for name, t in self.scores_.seconds.items()})
        self._pass_seconds = time.perf_counter() - start - (0.0 if self.scores_.kept
                                                            else sum(self.scores_.seconds.values()))
        return result

    # ------------------------------------------------------------------ fusion & evaluation
    def set_weights(self, weights: dict[str, float]) -> RunResult:
        """Re-fuse the cached blocks with new weights and re-evaluate (no refit).

        Without kept blocks (above ``score_budget_mb``) the models re-score the evaluated
        users batch by batch: still no refit, but it costs a scoring pass.
        """
        from genre.evaluate import slice_metrics

        weights = {name: float(weights.get(name, 0.0)) for name in self.models_}
        if not any(w > 0 for w in weights.values()):
            raise ConfigError("all mix weights are 0: give at least one algorithm a positive weight")
        cfg = self.config
        singles = getattr(self, "_single_metrics", None) is None
        evaluations = self._evaluate_mixes({"mix": weights}, singles=singles)
        if singles:
            self._single_metrics = {name: evaluations[("single", name)].means for name in self.models_}
        mix = evaluations[("mix", "mix")]
        rows = {**self._single_metrics, "mix": mix.means}
        self.timings["fuse+evaluate"] = self._pass_seconds
        self.weights_ = weights
        for algo in self.enabled_algorithms:  # saved runs and exports carry the live weights
            algo.weight = weights[algo.name]
        self.evaluation_ = mix
        slices = slice_metrics(mix, self.split_, activity_threshold=cfg.evaluation.activity_threshold,
                               head_fraction=cfg.evaluation.head_fraction, k=min(cfg.evaluation.ks))
        self.result_ = RunResult(metrics=pd.DataFrame.from_dict(rows, orient="index"),
                                 per_user=mix.per_user, slices=slices, weights=weights,
                                 timings=dict(self.timings), config=cfg, tuning=self.tuning_,
                                 notes=[*self.dataset_.notes, *self.notes_])
        return self.result_

    # ------------------------------------------------------------------ tuning (validation only)
    def _tune(self, report: "_Reporter"):
        """Choose hyper-parameters and weights on TRAIN → (TRAIN_SUB, VAL); TEST is not touched.

        The weight search re-fuses cached validation blocks many times, so it runs on as many
        validation users as ``score_budget_mb`` holds (a seeded sample beyond that, noted).
        """
        from genre.evaluate import mean_ranking_metric
        from genre.split import validation_split
        from genre.tune import tune_parameter, tune_weights

        cfg = self.config
        val = validation_split(self.split_, cfg.split.method,
                               **{"seed": cfg.seed, **cfg.split.params})
        metric = cfg.tuning.metric
        k = int(metric.split("@")[1]) if "@" in metric else 10
        if cfg.tuning.hyperparameters:
            self._tune_hyperparameters(val, metric, k, report, tune_parameter)
        models, _ = self._fit_all(val, report, stage="validation: ")
        budget_scores = float(self.score_budget_mb) * 2**20 / (4 * max(len(models), 1))
        users, note = sample_users(val, min(budget_scores, float(self.max_eval_scores)), cfg.seed, "validation")
        self._note(note)
        blocks = ScoreBlocks(models, val, users, cfg.fusion, budget_mb=float("inf"),
                             report=lambda message: report(f"validation: {message}")).blocks

        def objective(weights: dict[str, float]) -> float:
            if not any(weights.values()):
                return -1.0
            return mean_ranking_metric(fusion.fuse(blocks, weights), users, val, metric)

        result = tune_weights(list(blocks), objective, n_trials=cfg.tuning.n_trials, seed=cfg.seed,
                              metric=metric, progress=report.sub("tuning weights"))
        if cfg.tuning.weights:
            for algo in self.enabled_algorithms:
                algo.weight = result.weights[algo.name]
        return result

    def _tune_hyperparameters(self, val: Split, metric: str, k: int, report, tune_parameter) -> None:
        from genre.algorithms import algorithm_class
        from genre.evaluate import evaluate
        from genre.featurize import build_features

        features, _ = build_features(self.dataset_, val.train, val.test, self.config.features,
                                     cache_dir=self.cache_dir)
        train = val.train_matrix()
        users, note = sample_users(val, self.max_eval_scores, self.config.seed, "validation")
        self._note(note)
        self.parameter_curves_ = {}
        for algo in self.enabled_algorithms:
            grid = algorithm_class(algo.name).tune_grid
            for param, values in grid.items():
                def objective(value, algo=algo, param=param):
                    model = make_algorithm(algo.name, **{**algo.params, param: value}).fit(train, features)
                    return evaluate(model.score, val, ks=(k,), users=users).means[metric]

                best, curve = tune_parameter(list(values), objective, name=param, metric=metric,
                                             progress=report.sub(f"tuning {algo.name}.{param}"))
                algo.params[param] = best.item() if hasattr(best, "item") else best
                self.parameter_curves_[f"{algo.name}.{param}"] = curve

    def tune_weights(self, progress: Progress | None = None):
        """Tune the mix weights on validation now (after ``run``), apply them and re-evaluate."""
        self.tuning_ = self._tune(_Reporter(progress))
        self.set_weights({a.name: a.weight for a in self.enabled_algorithms})
        return self.tuning_

    def weight_sweep(self, name: str, values: list[float] | np.ndarray | None = None) -> pd.DataFrame:
        """Test metrics of the mix as the weight of ``name`` varies (others fixed); no refit.

        All values are evaluated in one pass over the users (one scoring pass when the score
        blocks are not kept).
        """
        if name not in self.models_:
            raise ConfigError(f"no trained algorithm {name!r}; trained: {', '.join(self.models_)}")
        values = np.linspace(0, 1, 11) if values is None else values
        mixes = {}
        for i, value in enumerate(values):
            weights = {**self.weights_, name: float(value)}
            if any(weights.values()):
                mixes[i] = weights
        if not mixes:
            return pd.DataFrame(columns=["weight"])
        evaluations = self._evaluate_mixes(mixes, singles=False, with_vectors=False)
        return pd.DataFrame([{"weight": float(values[i]), **evaluations[("mix", i)].means} for i in mixes])

    def _note(self, *messages: str | None) -> None:
        for message in messages:
            if message and message not in self.notes_:
                log.info(message)
                self.notes_.append(message)

    # ------------------------------------------------------------------ per-user use
    def recommend(self, user_id: Any, k: int = 10, explain: bool = True,
                  liked: tuple = (), disliked: tuple = ()) -> pd.DataFrame:
        """Top-k for one raw user id with every algorithm's contribution and reasons."""
        from genre.explain import explain_recommendations

        user = int(self.dataset_.user_index(user_id)[0])
        parts = {name: row[0] for name, row in
                 fusion.contributions(self.user_blocks(user), self.weights_).items()}
        total = sum(parts.values())
        seen = self.split_.train_matrix()[[user]].toarray()[0] > 0
        excluded = seen.copy()
        for raw in (*liked, *disliked):
            excluded[self.dataset_.item_index(raw)] = True
        if liked:
            parts["feedback"] = self._feedback_boost(self.dataset_.item_index(list(liked)))[0]
            total = total + parts["feedback"]
        candidates = self.split_.candidate_items
        if candidates is not None:
            allowed = np.zeros_like(excluded)
            allowed[candidates] = True
            excluded |= ~allowed
        top = fusion.top_k(np.where(excluded, -np.inf, total)[None, :], k)[0]
        top = top[~excluded[top]]
        return explain_recommendations(self, user, top, parts, total, explain=explain)

    def user_blocks(self, user: int) -> dict[str, np.ndarray]:
        """Normalised score rows (1, n_items) of each algorithm for one user index."""
        return self.scores_.user_rows(user)

    def _feedback_boost(self, liked: np.ndarray) -> np.ndarray:
        """Similarity of every item to the liked ones (content vectors), scaled like a weight-1 algorithm.

        Liking an item updates the list at once without refitting any model.
        """
        vectors = self.features_.item_vectors
        if vectors is None:
            genres = self.features_.item_genres
            vectors = genres if genres is not None else sp.identity(self.dataset_.n_items, format="csr")
        sims = vectors @ vectors[liked].T
        sims = np.asarray(sims.todense() if sp.issparse(sims) else sims).mean(axis=1)
        return normalise_block(sims[None, :], None, None, self.config.fusion)

    def history(self, user_id: Any) -> pd.DataFrame:
        """The user's training interactions (newest first) with titles and genres."""
        user = int(self.dataset_.user_index(user_id)[0])
        rows = self.split_.train[self.split_.train["user"] == user].sort_values("timestamp", ascending=False)
        items = self.dataset_.items.iloc[rows["item"].to_numpy()]
        return pd.DataFrame({"item_id": items["item_id"].to_numpy(), "title": items["title"].to_numpy(),
                             "genres": items["genres"].to_numpy(), "rating": rows["rating"].to_numpy(),
                             "timestamp": pd.to_datetime(rows["timestamp"].to_numpy(), unit="s")})

    def recommend_for_text(self, text: str, k: int = 10) -> pd.DataFrame:
        """Items matching a free-text "what-if" profile, by the profile encoder's cosine."""
        from genre.explain import text_matches

        return text_matches(self, text, k)

    @property
    def user_ids_evaluated(self) -> np.ndarray:
        return self.dataset_.user_ids[self.users_]

    @property
    def item_vectors_(self):
        return self.features_.item_vectors

    # ------------------------------------------------------------------ helpers
    def _timed(self, stage: str):
        return _Timer(self.timings, stage)


def load_from_config(config: RunConfig) -> Dataset:
    """Load and clean the data a config names."""
    from genre.data import CleaningOptions, ColumnMapping, load_dataset

    data = config.data
    return load_dataset(data.source, items=data.items,
                        mapping=ColumnMapping.from_dict(data.mapping) if data.mapping else None,
                        cleaning=CleaningOptions.from_dict(data.cleaning), encoding=data.encoding)


class _Timer:
    def __init__(self, timings: dict[str, float], stage: str):
        self.timings, self.stage = timings, stage

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.stage] = self.timings.get(self.stage, 0.0) + time.perf_counter() - self.start


class _Reporter:
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
