"""The Metrics page's weight sweep and heat map, on validation, as background jobs (``ui.jobs``).

Both explore weights on the trained run's validation side (``genre.run.validation_run``: its
algorithms refitted on the validation carve, what tuning uses), built once per trained run and
kept in the session as ``("validation_run", (trained_run, run))``. The worker builds it (or
reuses it), gives it the live weights as they were when the job started and re-ranks; the
script thread keeps the result (``"sweep"``, ``"grid"``) when the job is collected.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import streamlit as st

from ui import jobs

#: Weights a sweep tries (11) and each axis of the heat map (6 × 6 mixes).
SWEEP_WEIGHTS, GRID_WEIGHTS = np.linspace(0, 1, 11), np.linspace(0, 1, 6)


def sweep(name: str) -> bool:
    """Start the sweep of ``name``'s weight; False when another job still runs."""
    return _start("sweep", f"Weight sweep of {name}", "re-ranking at 11 weights",
                  lambda run: (name, run.weight_sweep(name, SWEEP_WEIGHTS)))


def grid(x: str, y: str) -> bool:
    """Start the heat map of ``x`` × ``y`` weights; False when another job still runs."""
    return _start("grid", f"Heat map of {x} × {y}", "re-ranking 36 mixes",
                  lambda run: (x, y, run.weight_grid(x, y, GRID_WEIGHTS)))


def _start(kind: str, label: str, step: str, explore: Callable[[Any], tuple]) -> bool:
    from genre.run.validation_run import validation_run  # the run core loads on the first sweep

    ss = st.session_state
    trained_run = ss["trained_run"]
    weights = dict(trained_run.weights_)  # the live mix now; the sliders may move meanwhile
    held = ss.get("validation_run")
    built = held[1] if held is not None and held[0] is trained_run else None
    stages = 1 if built is not None else 4 + len(weights)  # features, each fit, scoring, the mix; then re-ranking

    def work(progress: Callable) -> tuple[Any, tuple]:
        run = built if built is not None else validation_run(trained_run, progress=progress)
        if run.weights_ != weights:
            run.set_weights(weights)
        progress(0, 0, step)  # raises Cancelled when Cancel was pressed meanwhile
        return run, explore(run)

    def install(done: tuple[Any, tuple]) -> str | jobs.Notice:
        run, found = done
        if ss.get("trained_run") is not trained_run:
            return "warning", f"{label} finished, but the run it explored was replaced meanwhile: not kept."
        ss["validation_run"] = (trained_run, run)
        ss[kind] = found
        return f"{label} done, on validation: see the Metrics page."

    return jobs.start(kind, label, stages, work, install)
