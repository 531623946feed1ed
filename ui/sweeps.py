"""The Metrics page's weight sweep and heat map, on validation, as background jobs (``ui.jobs``).

Both explore weights on the trained run's validation side (``genre.run.validation_run``: its
algorithms refitted on the validation carve, what tuning uses), built once per trained run and
kept in the session as ``("validation_run", (trained_run, run))``. The worker builds it (or
reuses it), gives it the live weights as they were when the job started and re-ranks; the
script thread keeps the result (``"sweep"``: name, frame, base weights; ``"grid"``: x, y, frame,
base weights) when the job is collected. "Use this weight" (``use_best``) sets the live mix to the
best validation point — through the trained run, which owns the weights — and the Train page's
sliders follow.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import streamlit as st

from genre.compare import grid_best, sweep_best
from ui import jobs, state, widgets

#: Weights a sweep tries (11) and each axis of the heat map (6 × 6 mixes).
SWEEP_WEIGHTS, GRID_WEIGHTS = np.linspace(0, 1, 11), np.linspace(0, 1, 6)


def sweep(name: str) -> bool:
    """Start the sweep of ``name``'s weight; False when another job still runs."""
    return _start("sweep", f"Weight sweep of {name}", "re-ranking at 11 weights",
                  lambda run: (name, run.weight_sweep(name, SWEEP_WEIGHTS), dict(run.weights_)))


def grid(x: str, y: str) -> bool:
    """Start the heat map of ``x`` × ``y`` weights; False when another job still runs."""
    return _start("grid", f"Heat map of {x} × {y}", "re-ranking 36 mixes",
                  lambda run: (x, y, run.weight_grid(x, y, GRID_WEIGHTS), dict(run.weights_)))


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


def best(kind: str, metric: str) -> tuple[dict[str, float], float] | None:
    """The best validation mix of the kept sweep (``kind`` "sweep") or heat map ("grid") on ``metric``
    and its score: the swept weights at their best, the others as they were when it ran. None when
    there is none, or it has no ``metric``."""
    found = st.session_state.get(kind)
    if not found:
        return None
    try:
        if kind == "sweep":
            name, frame, base = found
            return sweep_best(frame, metric, base, name)
        x, y, frame, base = found
        return grid_best(frame, metric, base, x, y)
    except ValueError:
        return None


def use_best(kind: str, metric: str) -> str:
    """"Use this weight": set the live mix to the kept sweep's (heat map's) best validation point on
    ``metric`` through the trained run; the weight sliders restart from it. Returns the message."""
    ss = st.session_state
    found = best(kind, metric)
    if found is None:
        return "Nothing to use: run the sweep again."
    weights, score = found
    ss["result"] = ss["trained_run"].set_weights(weights)
    state.reset_widgets(state.WEIGHT_SLIDERS)  # the Train page's sliders start again from the run
    mix = ", ".join(f"{n} {w:g}" for n, w in ss["trained_run"].weights_.items())
    return f"Live mix set to the best validation point ({metric} {score:.4f} on validation): {mix}."


def use_best_button(kind: str, metric: str, key: str) -> None:
    """Under a sweep or heat map: its best validation point in words and "Use this weight"."""
    found = best(kind, metric)
    if found is None:
        return
    weights, score = found
    live = st.session_state["trained_run"].weights_
    swept = [n for n in weights if abs(weights[n] - live.get(n, 0.0)) > 1e-12]
    left, right = st.columns([4, 1], vertical_alignment="center")
    point = ", ".join(f"{n} {weights[n]:g}" for n in weights)
    left.caption(f"Best on validation: {metric} {score:.4f} at {widgets.md(point)}."
                 + ("" if swept else " That is the live mix already."))
    label = "Use this weight" if kind == "sweep" else "Use these weights"
    if right.button(label, key=key, type="primary", disabled=not swept,
                    help="Sets the live mix (and the Train page's sliders) to this validation point."):
        with widgets.user_errors():
            widgets.flash(use_best(kind, metric))
            st.rerun()
