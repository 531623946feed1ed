"""The Train page's session glue: train a setup with progress bars, re-mix on a slider move, auto-tune.

Each keeps the trained run (``st.session_state["trained_run"]``) and its latest result in the
session; none copies weights anywhere else (the trained run owns them, ``ui.state``).
"""

from __future__ import annotations

import time

import streamlit as st

from genre.config import RunConfig
from ui import state, widgets


def slider_key(name: str) -> str:
    """The session key of algorithm ``name``'s live weight slider."""
    return state.WEIGHT_SLIDERS + name


def train(setup: RunConfig) -> None:
    """Make ``setup`` the session's config and train it on the session's data; a run that fails
    (a ``GenreError`` for the page to show) leaves the earlier trained run in place."""
    from genre.run import Experiment  # the run core loads on the first Train, not on the page's first view

    st.session_state["config"] = setup
    tuning = setup.tuning.enabled
    # stages: split, features, each fit (twice when tuning), scoring, the mix
    progress = widgets.StageProgress(4 + sum(a.enabled for a in setup.algorithms) * (2 if tuning else 1),
                                     "Training…")
    started = time.perf_counter()
    trained_run = Experiment(setup, dataset=st.session_state["dataset"]).train(progress=progress)
    state.set_trained(trained_run, trained_from=setup)
    widgets.flash(f"Trained {', '.join(trained_run.weights_)} in {time.perf_counter() - started:.1f} s.")


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


def auto_tune() -> None:
    """Tune the live weights on validation; the sliders restart from the tuned weights."""
    trained_run = st.session_state["trained_run"]
    trained_run.tune_weights(progress=widgets.StageProgress(2 + len(trained_run.weights_), "Tuning…"))
    st.session_state["result"] = trained_run.result_
    state.reset_widgets(state.WEIGHT_SLIDERS)
