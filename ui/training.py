"""The Train page's session glue: train a setup and auto-tune in the background (``ui.jobs``), re-mix on a
slider move.

Each keeps the trained run (``st.session_state["trained_run"]``) and its latest result in the
session; none copies weights anywhere else (the trained run owns them, ``ui.state``).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import streamlit as st

from genre.config import RunConfig
from ui import jobs, state, widgets


def slider_key(name: str) -> str:
    """The session key of algorithm ``name``'s live weight slider."""
    return state.WEIGHT_SLIDERS + name


def train(setup: RunConfig) -> bool:
    """Make ``setup`` the session's config and train it on the session's data, in the background
    (``ui.jobs``: leaving the page does not stop it); False when another job still runs. When it
    ends the run is installed; a run that fails (its ``GenreError`` shown once) or is cancelled
    leaves the earlier trained run in place."""
    from genre.run import Experiment  # the run core loads on the first Train, not on the page's first view

    ss = st.session_state
    trained, dataset = setup.copy(), ss["dataset"]  # ``setup`` becomes the session's config, edited in place
    names = [a.name for a in trained.algorithms if a.enabled]
    # stages: split, features, each fit (twice when tuning), scoring, the mix
    stages = 4 + len(names) * (2 if trained.tuning.enabled else 1)

    def work(progress: Callable) -> tuple[Any, float]:
        started = time.perf_counter()
        return Experiment(trained, dataset=dataset).train(progress=progress), time.perf_counter() - started

    def install(done: tuple[Any, float]) -> str | jobs.Notice:
        trained_run, seconds = done
        if ss.get("dataset") is not dataset:
            return "warning", "Training finished, but other data was loaded meanwhile: its run is not kept."
        state.set_trained(trained_run, trained_from=trained)
        return f"Trained {', '.join(trained_run.weights_)} in {seconds:.1f} s."

    started = jobs.start("train", f"Training {', '.join(names) or 'nothing'}", stages, work, install)
    if started:
        ss["config"] = setup
    return started


def seed_sliders() -> list[str]:
    """Start each weight slider from the trained run's live weight unless the user holds it; the
    algorithms mixed, in order. (Seeded through the session, so the sliders pass no default.)"""
    weights = st.session_state["trained_run"].weights_
    for name, weight in weights.items():
        st.session_state.setdefault(slider_key(name), float(weight))
    return list(weights)


def remix() -> None:
    """A slider moved: re-mix before the page (and the sidebar, drawn first) runs again."""
    ss = st.session_state
    trained_run = ss["trained_run"]
    with widgets.user_errors():
        ss["result"] = trained_run.set_weights({n: float(ss[slider_key(n)]) for n in trained_run.weights_})


def auto_tune() -> bool:
    """Tune the live weights on validation in the background; False when another job still runs.

    The search only reads the trained run (``TrainedRun.find_weights``), so the sliders and every
    page keep using it meanwhile; the tuned weights are applied when the job is collected (in the
    script thread), replacing any slider moved since, and the sliders restart from them."""
    ss = st.session_state
    trained_run = ss["trained_run"]

    def install(search: Any) -> str | jobs.Notice:
        if ss.get("trained_run") is not trained_run:
            return "warning", "Auto-tune finished, but the run it tuned was replaced meanwhile: its weights are dropped."
        ss["result"] = trained_run.adopt_weights(search)
        state.reset_widgets(state.WEIGHT_SLIDERS)
        weights = ", ".join(f"{n} {w:.2f}" for n, w in search.tuning.weights.items())
        return f"Auto-tuned the weights on validation: {weights}."

    return jobs.start("auto_tune", "Auto-tuning weights", 2 + len(trained_run.weights_),
                      lambda progress: trained_run.find_weights(progress=progress), install)
