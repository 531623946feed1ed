"""The run: config → data → split → features → (tune →) fit → score into the store → evaluate.

``Experiment`` orchestrates one run and hands back a ``TrainedRun`` (genre.run.trained): the
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

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from genre.algorithms import Recommender
from genre.algorithms.base import Progress
from genre.config import RunConfig
from genre.data import CleaningOptions, ColumnMapping, Dataset, load_dataset
from genre.features import Features
from genre.run.fitting import Fitter, Notes, Reporter, RunResult, Timer, fit_and_store
from genre.run.trained import TrainedRun
from genre.run.tuning import tune_on_validation
from genre.split import Split, split_interactions


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

    def train(self, progress: Progress | None = None) -> TrainedRun:
        """Load, split, build features, (tune,) fit, score into the store and evaluate."""
        config = self.config.copy()  # ours to fill with tuned values
        timings: dict[str, float] = {}
        report, notes = Reporter(progress), Notes()
        with Timer(timings, "load"):
            dataset = self.dataset
            if dataset is None:
                report("loading data")
                dataset = load_from_config(config)
        with Timer(timings, "split"):
            report("splitting")
            split = split_interactions(dataset.interactions, dataset.n_users, dataset.n_items,
                                       config.split.method, **{"seed": config.seed, **config.split.params})
        fitter = Fitter(dataset, config, self.cache_dir, timings, report)
        tuning = curves = None
        if config.tuning.enabled:
            tuning, curves, models, features = tune_and_fit(fitter, split, notes, report)
        else:
            models, features = fitter.fit_all(split)
        stored = fit_and_store(fitter, split, notes, fitted=(models, features))
        trained = TrainedRun.from_fit(fitter, split, stored, notes, tuning=tuning, curves=curves)
        with Timer(timings, "what-if index"):  # never encoded here: genre.run.text_index says why
            report("what-if index: from the run's vectors or the encoding cache")
            trained.find_text_index()
        report("evaluating the mix")
        trained.set_weights({a.name: a.weight for a in config.algorithms if a.enabled})
        return trained


def tune_and_fit(fitter: Fitter, split: Split, notes: Notes, report: Reporter
                 ) -> tuple[Any, dict, dict[str, Recommender], Features]:
    """Tune on the validation carve, and fit every algorithm on all of TRAIN.

    When only weights are tuned the final fits do not depend on the tuning, so they run in a
    second thread meanwhile: on a machine with few cores the two sets of fits (LAPACK, implicit
    and scipy release the GIL) overlap instead of queueing. Same fits, same results; with
    hyper-parameter tuning (which changes the final fits) they run after it.
    """
    config = fitter.config
    overlap = not config.tuning.hyperparameters and not any(a.kind == "profile" for a in fitter.enabled)
    if not overlap:
        with Timer(fitter.timings, "tune"):
            tuning, curves = tune_on_validation(fitter, split, notes, report)
        return (tuning, curves, *fitter.fit_all(split))
    fitter.check_memory(split, copies=2)  # both sets of fits at once: refused before either starts
    features = fitter.features(split)
    final = Fitter(fitter.dataset, config, fitter.cache_dir, {}, Reporter(None))  # silent: not the UI thread
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="genre-fit") as pool:
        report("fitting on all training data while tuning on validation")
        fits = pool.submit(final.fit_all, split, "", features)
        with Timer(fitter.timings, "tune"):
            tuning, curves = tune_on_validation(fitter, split, notes, report)
        models, _ = fits.result()
    fitter.timings.update(final.timings)
    return tuning, curves, models, features


def load_from_config(config: RunConfig) -> Dataset:
    """Load and clean the data a config names."""
    data = config.data
    return load_dataset(data.source, items=data.items,
                        mapping=ColumnMapping.from_dict(data.mapping) if data.mapping else None,
                        cleaning=CleaningOptions.from_dict(data.cleaning), encoding=data.encoding)
