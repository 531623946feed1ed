"""The Train page's session glue: train a setup and auto-tune in the background (``ui.jobs``), re-mix on a
slider move.

Each keeps the trained run (``st.session_state["trained_run"]``) and its latest result in the
session; none copies weights anywhere else (the trained run owns them, ``ui.state``).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import streamlit as st

from genre.compare import TuneReport
from genre.config import RunConfig
from ui import jobs, state, widgets


#: The session key of what Auto-tune's Undo restores, and what the tuning changed (``tune_panel``).
UNDO = "auto_tune_undo"


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


#: The cut-offs the Train page shows (NDCG, recall, hit rate, coverage @10): a slider move measures these
#: first; the rest follows once the page has drawn them (``complete``).
SHOWN_KS = (10,)


def remix() -> None:
    """A slider moved: re-mix before the page (and the sidebar, drawn first) runs again, measuring only
    what the Train page shows (``SHOWN_KS``); ``complete`` measures the rest after the page drew."""
    ss = st.session_state
    trained_run = ss["trained_run"]
    with widgets.user_errors():
        ss["result"] = trained_run.set_weights({n: float(ss[slider_key(n)]) for n in trained_run.weights_},
                                               ks=SHOWN_KS)


def complete(cue: Any = None) -> None:
    """Every metric of the live mix for the other pages (and saves), once a slider move's quick figures
    are on screen; ``cue`` (an ``st.empty`` saying "updating…") is cleared when done."""
    ss = st.session_state
    result = ss.get("result")
    if result is not None and result.partial and ss.get("trained_run") is not None:
        ss["result"] = ss["trained_run"].result_
    if cue is not None:
        cue.empty()


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
        previous, previous_tuning, before = dict(trained_run.weights_), trained_run.tuning_, ss["result"]
        ss["result"] = trained_run.adopt_weights(search)
        ss[UNDO] = {"run": trained_run, "weights": previous, "tuning": previous_tuning,
                    "report": _report(search.tuning, previous, before, ss["result"])}
        state.reset_widgets(state.WEIGHT_SLIDERS)
        weights = ", ".join(f"{n} {w:.2f}" for n, w in search.tuning.weights.items())
        return f"Auto-tuned the weights on validation: {weights}."

    return jobs.start("auto_tune", "Auto-tuning weights", 2 + len(trained_run.weights_),
                      lambda progress: trained_run.find_weights(progress=progress), install)


def _report(tuning: Any, previous: dict[str, float], before: Any, after: Any) -> TuneReport:
    """What Auto-tune changed: the validation score it optimised (the live weights scored on the same
    validation store, when they are still what the search started from) and the test figure."""
    metric = tuning.metric
    started_from = tuning.baseline or {}
    same_start = all(abs(previous.get(n, 0.0) - w) <= 1e-12 for n, w in started_from.items())
    test = after.metrics.loc["mix"]
    width = None
    if after.intervals is not None and metric in after.intervals.columns:
        width = float(after.intervals.loc["mix", metric])
    return TuneReport(metric=metric,
                      validation_before=tuning.baseline_score if same_start and started_from else None,
                      validation_after=float(tuning.score),
                      test_before=float(before.metrics.loc["mix", metric]) if metric in before.metrics else float("nan"),
                      test_after=float(test[metric]) if metric in test.index else float("nan"),
                      test_half_width=width)


def undo_auto_tune() -> str:
    """Auto-tune's Undo: the weights (and tuning) the run had just before it, exactly; the sliders follow."""
    ss = st.session_state
    held = ss.pop(UNDO, None)
    trained_run = ss.get("trained_run")
    if not held or held["run"] is not trained_run:
        return "Nothing to undo: the run was replaced since it was auto-tuned."
    ss["result"] = trained_run.restore_weights(held["weights"], held["tuning"])
    state.reset_widgets(state.WEIGHT_SLIDERS)
    return "Undone: back to " + ", ".join(f"{n} {w:g}" for n, w in trained_run.weights_.items()) + "."


def tune_panel() -> None:
    """After an Auto-tune: validation before → after (what it optimised) beside the test figure, why
    test can move the other way, and Undo."""
    ss = st.session_state
    held = ss.get(UNDO)
    if not held or held["run"] is not ss.get("trained_run"):
        return
    report: TuneReport = held["report"]
    trained_run = ss["trained_run"]
    tuned = trained_run.tuning_.weights if trained_run.tuning_ is not None else {}
    if any(abs(trained_run.weights_.get(n, 0.0) - w) > 1e-12 for n, w in tuned.items()):
        left, undo = st.columns([4, 1], vertical_alignment="center")  # its figures are no longer the live mix's
        left.caption("The mix moved since Auto-tune. Undo still returns to the weights it had just before it.")
        _undo_button(undo)
        return
    with st.container(border=True):
        st.markdown("**Auto-tune optimised validation, not test**")
        left, right, undo = st.columns([2, 2, 1], vertical_alignment="center")
        before = report.validation_before
        left.metric(f"validation {report.metric} (tuned on)", f"{report.validation_after:.4f}",
                    None if before is None else f"{report.validation_after - before:+.4f} vs before",
                    help="On the validation carve of the training data: what Auto-tune maximised.")
        left.caption(f"before {before:.4f} → after {report.validation_after:.4f}" if before is not None
                     else "before: the weights moved while tuning, so not comparable")
        width = report.test_half_width
        right.metric(f"test {report.metric}", f"{report.test_after:.4f}",
                     f"{report.test_after - report.test_before:+.4f} vs before",
                     help="On the held-out TEST interactions; never used to choose weights.")
        right.caption(f"before {report.test_before:.4f} → after {report.test_after:.4f}"
                      + ("" if width is None or width != width else f" (± {width:.4f})"))
        _undo_button(undo)
        st.caption(report.why())


def _undo_button(where: Any) -> None:
    if where.button("Undo Auto-tune", key="auto_tune_undo_button",
                    help="Restore the weights the mix had just before Auto-tune."):
        widgets.flash(undo_auto_tune())
        st.rerun()
