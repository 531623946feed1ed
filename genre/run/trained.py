"""A trained run, served: weights, re-mixes, sweeps, recommendations, explanations, feedback.

Everything here reads the candidate store (``genre.store``) the run filled; no model is
re-scored for the evaluated users and none is refitted. The mix weights live in ONE place,
``weights_``; ``config`` hands out a copy carrying them, so saved runs replay the live mix.
A user the store does not hold (the app lets one pick anyone) is scored on demand into the
same representation.

Examples
--------
>>> from genre.config import RunConfig
>>> from genre.run import Experiment
>>> trained = Experiment(RunConfig.from_dict({"algorithms": [{"name": "popularity"}]})).train()  # doctest: +SKIP
>>> trained.set_weights({"popularity": 1.0}).metrics.loc["mix", "ndcg@10"]                  # doctest: +SKIP
0.0885...
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genre import fusion
from genre.algorithms import Recommender
from genre.algorithms.base import Progress
from genre.config import RunConfig
from genre.data import Dataset
from genre.encoders import EmbeddingCache, make_encoder
from genre.errors import ConfigError, GenreError
from genre.evaluate import evaluate_store, slice_metrics
from genre.features import Features
from genre.run.explain import explain_recommendations, text_matches
from genre.run.fitting import Fitter, Notes, Reporter, RunResult, StoredFit, candidates_of
from genre.run.foldin import excluded_items, folded_parts, history_frame, rank
from genre.run.persist import read_run, save_run
from genre.run.text_index import cheap_index, encode_index, query_text
from genre.run.tuning import tune_on_validation
from genre.split import Split
from genre.store import CandidateStore, build_store

log = logging.getLogger("genre")


@dataclass
class WeightSearch:
    """What ``TrainedRun.find_weights`` found: the tuning (weights, curve), its notes and timings."""

    tuning: Any
    notes: list[str]
    timings: dict[str, float]


class TrainedRun:
    """Fitted models, their candidate store and the live mix of one run.

    Built by ``Experiment.train``; attributes ending in ``_`` are the trained state.
    """

    def __init__(self, *, config: RunConfig, dataset: Dataset, split: Split, features: Features,
                 models: dict[str, Recommender], store: CandidateStore, single_metrics: dict[str, Any],
                 timings: dict[str, float], notes: list[str], tuning: Any = None,
                 cache_dir: str | Path | None = None, feature_report: Any = None,
                 parameter_curves: dict | None = None):
        self._config = config
        self.dataset_, self.split_, self.features_, self.models_ = dataset, split, features, models
        self.store_, self.single_evaluations_ = store, single_metrics
        self.timings, self.notes_, self.tuning_ = timings, notes, tuning
        self.cache_dir, self.feature_report_ = cache_dir, feature_report
        self.parameter_curves_ = parameter_curves or {}
        self.weights_: dict[str, float] = {a.name: a.weight for a in config.algorithms if a.enabled}
        self._text_index: np.ndarray | None = None   # the what-if item index (genre.run.text_index)
        self._query_encoder: Any = None

    @classmethod
    def from_fit(cls, fitter: Fitter, split: Split, stored: StoredFit, notes: Notes, *,
                 tuning: Any = None, curves: dict | None = None) -> "TrainedRun":
        """The trained run of ``fit_and_store``'s result (weights from ``fitter.config``; not evaluated
        until ``set_weights``)."""
        return cls(config=fitter.config, dataset=fitter.dataset, split=split, features=stored.features,
                   models=stored.models, store=stored.store, single_metrics=stored.singles,
                   timings=fitter.timings, notes=notes.messages, tuning=tuning, cache_dir=fitter.cache_dir,
                   feature_report=fitter.feature_report, parameter_curves=curves)

    # ------------------------------------------------------------------ what was trained
    @property
    def config(self) -> RunConfig:
        """A copy of the run's config with the live weights (edit it freely): what replays this mix.

        Weights chosen after training (``set_weights`` by hand, ``tune_weights``) switch tuning off
        in the copy: a replay must use them as they are, not tune its own.
        """
        copy = self._config.copy()
        entries = {a.name: a for a in copy.algorithms}
        if any(entries[name].weight != weight for name, weight in self.weights_.items()):
            copy.tuning.enabled = False
        for name, weight in self.weights_.items():
            entries[name].weight = weight
        return copy

    @property
    def users_(self) -> np.ndarray:
        """The evaluated user indices (all test users, or a seeded sample above the limit)."""
        return self.store_.users

    @property
    def user_ids_evaluated(self) -> np.ndarray:
        return self.dataset_.user_ids[self.users_]

    @property
    def item_vectors_(self):
        return self.features_.item_vectors

    # ------------------------------------------------------------------ mixing & evaluation
    def _checked(self, weights: dict[str, float]) -> dict[str, float]:
        # the config's order (models_ is in the order fits finished), so lists and labels stay stable
        weights = {name: float(weights.get(name, 0.0)) for name in self.weights_ if name in self.models_}
        if any(w < 0 for w in weights.values()):
            raise ConfigError(f"mix weights must be ≥ 0, got {weights}")
        if not any(w > 0 for w in weights.values()):
            raise ConfigError("all mix weights are 0: give at least one algorithm a positive weight")
        return weights

    def _evaluate(self, mixes: dict[Any, dict[str, float]], with_vectors: bool = True) -> dict:
        return evaluate_store(self.store_, mixes, ks=tuple(self._config.evaluation.ks),
                              item_vectors=self.features_.item_vectors if with_vectors else None)

    def set_weights(self, weights: dict[str, float], ks: tuple[int, ...] | None = None) -> RunResult:
        """Re-mix the store with new weights and re-evaluate (no re-scoring, no refit).

        ``ks``: measure the mix at these cut-offs only (and no diversity), what a slider move shows at
        once; the result is marked ``partial`` (the mix's other columns NaN) until ``result_`` is read,
        which fills in the rest for whoever needs it (a page, a save).
        """
        weights = self._checked(weights)
        every = tuple(self._config.evaluation.ks)
        quick = () if ks is None else tuple(sorted({k for k in ks if k in every} | {min(every)}))
        partial = bool(quick) and quick != tuple(sorted(set(every)))
        began = time.perf_counter()
        mix = (evaluate_store(self.store_, {"mix": weights}, ks=quick)["mix"] if partial
               else self._evaluate({"mix": weights})["mix"])
        self.timings["fuse+evaluate"] = time.perf_counter() - began
        self.weights_ = weights
        self.evaluation_ = mix
        evaluation = self._config.evaluation
        slices = slice_metrics(mix, self.split_, activity_threshold=evaluation.activity_threshold,
                               head_fraction=evaluation.head_fraction, k=min(evaluation.ks))
        singles = self.single_evaluations_
        metrics = pd.DataFrame.from_dict({**{n: e.means for n, e in singles.items()}, "mix": mix.means},
                                         orient="index")
        intervals = pd.DataFrame.from_dict({**{n: e.intervals for n, e in singles.items()},
                                            "mix": mix.intervals}, orient="index")
        if singles:
            metrics = metrics.reindex(columns=list(next(iter(singles.values())).means))
        self._result = RunResult(metrics=metrics, per_user=mix.per_user, slices=slices, weights=dict(weights),
                                 timings=dict(self.timings), config=self.config, tuning=self.tuning_,
                                 notes=[*self.dataset_.notes, *self.notes_],
                                 intervals=intervals.reindex(index=metrics.index, columns=metrics.columns),
                                 partial=partial)
        return self._result

    @property
    def result_(self) -> RunResult:
        """The live mix's result, every metric measured (a ``partial`` one is completed here, once)."""
        result = self.__dict__.get("_result")
        if result is None:
            raise AttributeError("result_: not evaluated yet (set_weights)")
        if result.partial:
            result = self.set_weights(self.weights_)
        return result

    @result_.setter
    def result_(self, result: RunResult) -> None:
        self._result = result

    def weight_sweep(self, name: str, values: list[float] | np.ndarray | None = None) -> pd.DataFrame:
        """Test metrics of the mix as the weight of ``name`` varies (others fixed); store only."""
        return self.weight_grid(name, None, values)

    def weight_grid(self, x: str, y: str | None, values: list[float] | np.ndarray | None = None
                    ) -> pd.DataFrame:
        """Test metrics over every (x, y) weight pair of ``values`` (the rest fixed), one pass.

        ``y`` None is a sweep of ``x`` alone. With a ``y``, ``x``'s own weight is swept and
        ``y``'s set per row, as the heat map shows them. The live weights are not changed.
        """
        for name in (x, y):
            if name is not None and name not in self.models_:
                raise ConfigError(f"no trained algorithm {name!r}; trained: {', '.join(self.models_)}")
        values = np.linspace(0, 1, 11) if values is None else np.asarray(values, dtype=float)
        points = [(float(a), None if y is None else float(b)) for b in (values if y else [None]) for a in values]
        mixes = {}
        for i, (a, b) in enumerate(points):
            weights = {**self.weights_, x: a, **({} if y is None else {y: b})}
            if any(weights.values()):
                mixes[i] = weights
        if not mixes:
            return pd.DataFrame(columns=["weight"] if y is None else [x, y])
        evaluations = self._evaluate(mixes, with_vectors=False)
        rows = []
        for i in mixes:
            a, b = points[i]
            where = {"weight": a} if y is None else {x: a, y: b}
            rows.append({**where, **evaluations[i].means})
        return pd.DataFrame(rows)

    def tune_weights(self, progress: Progress | None = None) -> Any:
        """Tune the mix weights on validation now (after training), apply them and re-evaluate.

        Hyper-parameters stay as trained: the models serving the test users are not refitted.
        """
        self.adopt_weights(self.find_weights(progress))
        return self.tuning_

    def find_weights(self, progress: Progress | None = None) -> WeightSearch:
        """``tune_weights``' search alone: this run is read, never changed, so it may go on serving
        (re-mixes, recommendations) in another thread meanwhile; ``adopt_weights`` applies the result.
        The live weights are scored on the same validation store (``tuning.baseline_score``)."""
        config = self.config
        config.tuning.hyperparameters = False
        report, notes, timings = Reporter(progress), Notes(), {}
        tuning, _ = tune_on_validation(Fitter(self.dataset_, config, self.cache_dir, timings, report),
                                       self.split_, notes, report, baseline=dict(self.weights_))
        return WeightSearch(tuning, notes.messages, timings)

    def adopt_weights(self, search: WeightSearch) -> RunResult:
        """Apply what ``find_weights`` found: its weights, tuning curve, notes and timings; re-evaluate."""
        self.tuning_ = search.tuning
        self.timings.update(search.timings)
        self.notes_.extend(m for m in search.notes if m not in self.notes_)
        return self.set_weights(search.tuning.weights)

    def restore_weights(self, weights: dict[str, float], tuning: Any = None) -> RunResult:
        """Go back to ``weights`` held before (Auto-tune's Undo) exactly, with the tuning that went with
        them (None: none); re-evaluate."""
        self.tuning_ = tuning
        return self.set_weights(weights)

    # ------------------------------------------------------------------ per-user use
    def _user_parts(self, user: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Each algorithm's weighted score over all items for one user, and its candidate mask."""
        store = self.store_
        if store.row_of(user) is None:  # not evaluated: score this user now, same representation
            store = build_store(self.models_, self.split_, np.array([user]), self._config.fusion,
                                candidates=candidates_of(self._config), seed=self._config.seed)
        return store.user_parts(user, self.weights_)

    def recommend(self, user_id: Any, k: int = 10, explain: bool = True,
                  liked: tuple = (), disliked: tuple = ()) -> pd.DataFrame:
        """Top-k for one raw user id with every algorithm's contribution and reasons.

        The store's candidates rank first, by their mixed score (plus the feedback boost);
        other items only fill a list that runs short, as in evaluation.
        """
        user = int(self.dataset_.user_index(user_id)[0])
        parts, candidate = self._user_parts(user)
        total = sum(parts.values())
        seen = self.split_.train_matrix()[[user]].indices
        feedback = self.dataset_.item_index(list(liked) + list(disliked)) if liked or disliked else []
        excluded = excluded_items(self.dataset_.n_items, np.r_[seen, feedback].astype(np.int64),
                                  self.split_.candidate_items)
        if liked:
            parts["feedback"] = self._feedback_boost(self.dataset_.item_index(list(liked)))[0]
            total = total + parts["feedback"]
        top = rank(total, candidate, excluded, k)
        return explain_recommendations(self.dataset_, self.split_, self.models_, user, top, parts, total,
                                       explain=explain)

    def recommend_for_history(self, items: list | np.ndarray, k: int = 10,
                              timestamps: list | np.ndarray | None = None) -> pd.DataFrame:
        """Top-k for a history of raw item ids (oldest first, or ordered by ``timestamps``) that the
        run was not trained on: each algorithm that can folds it in (no refit), mixed with the live
        weights; ``frame.attrs["skipped"]`` names the algorithms that cannot, and why."""
        top, total, parts, skipped = self.rank_history(items, k, timestamps)
        return history_frame(self.dataset_, top, parts, total, skipped)

    def rank_history(self, items: list | np.ndarray, k: int = 10, timestamps: list | np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, str]]:
        """``recommend_for_history`` as arrays (what a server answers from, without a table): the top-k
        item indices, the mixed score of every item, each algorithm's weighted part, the skipped ones."""
        index = self.dataset_.item_index(list(items))
        stamps = None if timestamps is None else np.asarray(timestamps, dtype=np.float64)
        parts, candidate, skipped = folded_parts(
            self.models_, self.weights_, index, stamps, self.dataset_.n_items, self.split_.candidate_items,
            self._config.fusion, candidates_of(self._config), self._config.seed)
        total = sum(parts.values())
        top = rank(total, candidate, excluded_items(self.dataset_.n_items, index, self.split_.candidate_items), k)
        return top, total, parts, skipped

    # ------------------------------------------------------------------ on disk
    def save(self, path: str | Path) -> dict[str, Any]:
        """Write this run to the folder ``path`` in safe formats (``genre.run.persist``); returns
        the manifest (``["bytes"]``: size on disk)."""
        return save_run(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "TrainedRun":
        """A run ``save`` wrote, checked against its manifest; no model is refitted."""
        parts = read_run(path)
        weights, frames, manifest = parts.pop("weights"), parts.pop("frames"), parts.pop("manifest")
        run = cls(**parts)
        run.weights_, run.manifest_ = weights, manifest
        if "metrics" in frames:
            run.result_ = RunResult(metrics=frames["metrics"], per_user=frames.get("per_user"),
                                    slices=frames.get("slices"), weights=dict(weights), timings=dict(run.timings),
                                    config=run.config, notes=[*run.dataset_.notes, *run.notes_],
                                    intervals=frames.get("intervals"))
        return run

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
        return fusion.normalize_rows(sims[None, :], None, None, self._config.fusion)

    def history(self, user_id: Any) -> pd.DataFrame:
        """The user's training interactions (newest first) with titles and genres."""
        user = int(self.dataset_.user_index(user_id)[0])
        rows = self.split_.train[self.split_.train["user"] == user].sort_values("timestamp", ascending=False)
        items = self.dataset_.items.iloc[rows["item"].to_numpy()]
        return pd.DataFrame({"item_id": items["item_id"].to_numpy(), "title": items["title"].to_numpy(),
                             "genres": items["genres"].to_numpy(), "rating": rows["rating"].to_numpy(),
                             "timestamp": pd.to_datetime(rows["timestamp"].to_numpy(), unit="s")})

    # ------------------------------------------------------------------ free text ("what-if")
    @property
    def what_if_ready(self) -> bool:
        """``recommend_for_text`` answers at once: the item index is held and the profile encoder's
        model is loaded (``prepare_what_if``)."""
        return self._text_index is not None and self._query_encoder is not None

    def find_text_index(self) -> bool:
        """Take the what-if item index from the run's own vectors or the encoding cache, encoding
        nothing (``genre.run.text_index``); True when it is held. A profile encoder that cannot be
        made here is left for ``recommend_for_text`` to report."""
        if self._text_index is None:
            try:
                encoder = make_encoder(self._config.features.profile_encoder)
                self._text_index = cheap_index(self.dataset_, self.features_, self._config, encoder,
                                               EmbeddingCache(self.cache_dir))
            except GenreError as error:
                log.info("what-if index not taken: %s", error)
        return self._text_index is not None

    def prepare_what_if(self, progress: Progress | None = None) -> None:
        """Make ``recommend_for_text`` instant: the item index (encoded in blocks, with counted
        ``progress``, when neither the run nor the cache holds it) and the encoder's model loaded.
        Two stage messages (none when ready). Safe in a worker thread: each attribute is set once,
        when complete."""
        if self.what_if_ready:
            return
        report = Reporter(progress)
        encoder = self._query_encoder or make_encoder(self._config.features.profile_encoder)
        found = self.find_text_index()
        report("what-if index: ready" if found else f"what-if index: encoding {self.dataset_.n_items:,} items")
        if not found:
            self._text_index = encode_index(self.dataset_, encoder, EmbeddingCache(self.cache_dir),
                                            report.sub("what-if index"))
        report("loading the text model")
        encoder.encode(["warm up"])  # loads the model now, not at the first question
        self._query_encoder = encoder

    def recommend_for_text(self, text: str, k: int = 10) -> pd.DataFrame:
        """Items matching a free-text "what-if" profile, by the profile encoder's cosine."""
        text = query_text(text)
        self.prepare_what_if()
        return text_matches(self.dataset_, self._text_index, self._query_encoder.encode([text]), k)
