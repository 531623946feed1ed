"""Experiment: config → data → split → features → fit → fuse → evaluate, as one object.

The experiment keeps each algorithm's normalised score block for the evaluated users, so a
new set of mix weights is a weighted sum and a top-k away (``set_weights``), never a refit.

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
    """

    def __init__(self, config: RunConfig, dataset: Dataset | None = None,
                 cache_dir: str | Path | None = None):
        self.config = config
        self.dataset_ = dataset
        self.cache_dir = cache_dir
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ the run
    def run(self, progress: Progress | None = None) -> RunResult:
        """Load, split, build features, (tune,) fit, score, fuse and evaluate."""
        from genre.split import split_interactions

        self.timings = {}
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
        self.models_, self.features_, self.blocks_ = self._fit_and_score(self.split_, report)
        self._single_metrics = None
        self.users_ = self.split_.test_users
        return self.set_weights({a.name: a.weight for a in self.enabled_algorithms})

    @property
    def enabled_algorithms(self):
        return [a for a in self.config.algorithms if a.enabled]

    def _fit_and_score(self, split: Split, report: "_Reporter", stage: str = ""
                       ) -> tuple[dict[str, Recommender], Features, dict[str, np.ndarray]]:
        """Fit every enabled algorithm on ``split.train`` and score ``split.test_users``."""
        from genre.featurize import build_features

        with self._timed(f"{stage}features"):
            report(f"{stage}building item features")
            features, self.feature_report_ = build_features(
                self.dataset_, split.train, split.test, self.config.features,
                cache_dir=self.cache_dir, progress=report.sub("encoding"))
        train = split.train_matrix()
        models, blocks = {}, {}
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
            with self._timed(f"{stage}score {algo.name}"):
                blocks[algo.name] = self._normalised_block(model, split, train)
            models[algo.name] = model
        return models, features, blocks

    def _normalised_block(self, model: Recommender, split: Split, train: sp.csr_matrix) -> np.ndarray:
        users = split.test_users
        raw = model.score(users)
        return normalise_block(raw, train[users], split.candidate_items, self.config.fusion)

    # ------------------------------------------------------------------ fusion & evaluation
    def set_weights(self, weights: dict[str, float]) -> RunResult:
        """Re-fuse the cached blocks with new weights and re-evaluate (no refit)."""
        from genre.evaluate import evaluate_scores, slice_metrics

        weights = {name: float(weights.get(name, 0.0)) for name in self.blocks_}
        if not any(w > 0 for w in weights.values()):
            raise ConfigError("all mix weights are 0: give at least one algorithm a positive weight")
        cfg = self.config
        vectors = self.features_.item_vectors
        start = time.perf_counter()
        if getattr(self, "_single_metrics", None) is None:
            self._single_metrics = {
                name: evaluate_scores(block, self.users_, self.split_, ks=tuple(cfg.evaluation.ks),
                                      item_vectors=vectors).means
                for name, block in self.blocks_.items()}
        rows = dict(self._single_metrics)
        mix = evaluate_scores(fusion.fuse(self.blocks_, weights), self.users_, self.split_,
                              ks=tuple(cfg.evaluation.ks), item_vectors=vectors)
        rows["mix"] = mix.means
        self.timings["fuse+evaluate"] = time.perf_counter() - start
        self.weights_ = weights
        self.evaluation_ = mix
        slices = slice_metrics(mix, self.split_, activity_threshold=cfg.evaluation.activity_threshold,
                               head_fraction=cfg.evaluation.head_fraction, k=min(cfg.evaluation.ks))
        self.result_ = RunResult(metrics=pd.DataFrame.from_dict(rows, orient="index"),
                                 per_user=mix.per_user, slices=slices, weights=weights,
                                 timings=dict(self.timings), config=cfg, tuning=self.tuning_,
                                 notes=list(self.dataset_.notes))
        return self.result_

    # ------------------------------------------------------------------ tuning (validation only)
    def _tune(self, report: "_Reporter"):
        """Choose hyper-parameters and weights on TRAIN → (TRAIN_SUB, VAL); TEST is not touched."""
        from genre.evaluate import evaluate_scores
        from genre.split import validation_split
        from genre.tune import tune_parameter, tune_weights

        cfg = self.config
        val = validation_split(self.split_, cfg.split.method,
                               **{"seed": cfg.seed, **cfg.split.params})
        metric = cfg.tuning.metric
        k = int(metric.split("@")[1]) if "@" in metric else 10
        if cfg.tuning.hyperparameters:
            self._tune_hyperparameters(val, metric, k, report, tune_parameter)
        _, _, blocks = self._fit_and_score(val, report, stage="validation: ")
        users = val.test_users

        def objective(weights: dict[str, float]) -> float:
            if not any(weights.values()):
                return -1.0
            return evaluate_scores(fusion.fuse(blocks, weights), users, val, ks=(k,)).means[metric]

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
        self.parameter_curves_ = {}
        for algo in self.enabled_algorithms:
            grid = algorithm_class(algo.name).tune_grid
            for param, values in grid.items():
                def objective(value, algo=algo, param=param):
                    model = make_algorithm(algo.name, **{**algo.params, param: value}).fit(train, features)
                    return evaluate(model.score, val, ks=(k,)).means[metric]

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
        """Test metrics of the mix as the weight of ``name`` varies (others fixed); no refit."""
        from genre.evaluate import evaluate_scores

        if name not in self.blocks_:
            raise ConfigError(f"no trained algorithm {name!r}; trained: {', '.join(self.blocks_)}")
        values = np.linspace(0, 1, 11) if values is None else values
        rows = []
        for value in values:
            weights = {**self.weights_, name: float(value)}
            if not any(weights.values()):
                continue
            means = evaluate_scores(fusion.fuse(self.blocks_, weights), self.users_, self.split_,
                                    ks=tuple(self.config.evaluation.ks)).means
            rows.append({"weight": float(value), **means})
        return pd.DataFrame(rows)

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
        train = self.split_.train_matrix()
        cached = np.searchsorted(self.users_, user)
        if cached < len(self.users_) and self.users_[cached] == user:
            return {n: b[cached:cached + 1] for n, b in self.blocks_.items()}
        return {n: normalise_block(m.score([user]), train[[user]], self.split_.candidate_items,
                                   self.config.fusion) for n, m in self.models_.items()}

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


def normalise_block(raw: np.ndarray, seen: sp.spmatrix | None, candidates: np.ndarray | None,
                    config) -> np.ndarray:
    """Normalise one algorithm's scores over the rankable items (unseen, and candidates only)."""
    if candidates is None:
        block = fusion.normalize(raw, config.normalization, seen)
        return fusion.soften(block, config.temperature)
    sub_seen = seen[:, candidates] if seen is not None else None
    sub = fusion.soften(fusion.normalize(raw[:, candidates], config.normalization, sub_seen),
                        config.temperature)
    block = np.zeros_like(raw, dtype=np.float32)
    block[:, candidates] = sub
    return block


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
