"""The validation side of a trained run: where weights are explored, never on TEST.

Choosing weights by sweeping them on TEST and reading the best point off the curve is tuning
on test. So the explorations (weight sweeps, the two-weight heat map) run on the same carve
the tuner uses (``genre.split.validation_split`` of TRAIN): every algorithm is refitted on
TRAIN_SUB with the run's parameters, scores the validation users once into a candidate store,
and the result is a ``TrainedRun`` of its own — same sweeps, same grid, read from that store.
Test metrics stay with the current mix.

Examples
--------
>>> from genre.config import RunConfig
>>> from genre.run import Experiment
>>> trained = Experiment(RunConfig.from_dict({"algorithms": [{"name": "popularity"}]})).train()  # doctest: +SKIP
>>> validation_run(trained).weight_sweep("popularity", [0.0, 1.0])                          # doctest: +SKIP
"""

from __future__ import annotations

from genre.algorithms.base import Progress
from genre.run.fitting import Fitter, Notes, Reporter, fit_and_store
from genre.run.trained import TrainedRun
from genre.split import validation_split

#: Label for figures and captions computed on the validation carve.
VALIDATION_LABEL = "validation carve of the training data (what tuning uses; test untouched)"


def validation_run(trained: TrainedRun, progress: Progress | None = None) -> TrainedRun:
    """``trained``'s algorithms refitted on the validation carve of its TRAIN, with its live weights.

    Costs one fit per algorithm (like Auto-tune); the page keeps the result per trained run.
    """
    config = trained.config  # a copy with the live weights and the trained parameters
    val = validation_split(trained.split_, config.split.method, **{"seed": config.seed, **config.split.params})
    notes = Notes()
    fitter = Fitter(trained.dataset_, config, trained.cache_dir, {}, Reporter(progress))
    stored = fit_and_store(fitter, val, notes, what="validation", stage="validation: ")
    run = TrainedRun.from_fit(fitter, val, stored, notes)
    run.set_weights(dict(trained.weights_))
    return run
