"""The session's state, initialised in exactly one place.

One ``RunConfig`` (``config``) describes the setup the next Train trains — every page edits
its own part of it — and one trained run (``trained_run``, a ``genre.run.TrainedRun``) answers
the result pages. The trained run is the only owner of the live mix weights: nothing copies
them back into ``config``; what exports or replays the session asks ``replay_config``.
Widgets read their defaults from the config, because Streamlit forgets a widget's value when
the user moves to another page.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import streamlit as st

from genre.config import DataConfig, RunConfig
from genre.paths import confine_paths_in_data
from genre.runs import RunRegistry, operator_owner
from genre.starter_configs import (DEFAULT_PRESET, PRESETS, adopt_setup, fit_to_data, load_preset, needs_retraining,
                                   weights_to_carry)

if TYPE_CHECKING:
    from genre.run import TrainedRun

#: The repository root, and the folder of the bundled MovieLens sample in it.
ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data"


def default_config() -> RunConfig:
    """The mix a newcomer starts from: GENRE's tuned mix with the weights it chose on validation
    (``configs/tuned_mix.yaml``, shipped by bench/ship_weights.py), tuning off — so the first
    Train gives GENRE at its best in one fit per algorithm; Auto-tune stays one click away."""
    return load_preset(DEFAULT_PRESET, DataConfig())


_DEFAULTS: dict[str, Callable[[], Any]] = {
    "dataset": lambda: None,        # genre.data.Dataset of this session
    "config": default_config,       # RunConfig: the setup the next Train trains (starting weights)
    "trained_run": lambda: None,    # genre.run.TrainedRun (Experiment(...).train()): owns the live weights
    "result": lambda: None,         # its latest RunResult (after the last weight change)
    "trained_from": lambda: None,   # RunConfig: a copy of the setup the run was trained from (to spot edits)
    "saved_runs": list,             # [{"run_id", "name"}] saved in this session
    "models_saved": lambda: None,   # {"run_id", "path", "run", "config_sha256"}: where trained_run is saved (ui.saved_runs)
    "feedback": dict,               # raw user id (str) -> {"liked": [...], "disliked": [...]}
    "enrichment": lambda: None,     # DataFrame item_id, text written by the LLM this session
    "setup_notes": list,            # what fit_to_data left out of the setup for this data, and why
    "owner": lambda: operator_owner() or f"session-{uuid.uuid4().hex}",  # whose runs (genre.runs)
}


def init_state() -> None:
    """Fill missing session keys with their defaults (cheap; guarded to run once per session)."""
    confine_paths_in_data()  # this process serves browser users (also set when ``ui`` is imported)
    if st.session_state.get("_genre_ready"):
        return
    for key, factory in _DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = factory()
    st.session_state["_genre_ready"] = True


def config() -> RunConfig:
    """The session's ``RunConfig`` (edited in place by the pages)."""
    init_state()
    return st.session_state["config"]


def owner() -> str:
    """Who this session saves runs as: the operator's ``GENRE_USER``, else a random id of this
    browser session (runs are private to it unless the operator sets ``GENRE_SHARE_RUNS=1``)."""
    init_state()
    return st.session_state["owner"]


def files_in_use() -> list[str]:
    """Every file the session's config names (data, items, enrichment, profiles, encoder files):
    the upload store's pruning must never delete them under this session."""
    cfg = config()
    sources = cfg.data.source if isinstance(cfg.data.source, list) else [cfg.data.source]
    spaces = [cfg.features, *(a.features for a in cfg.algorithms if a.features is not None)]
    named = [*sources, cfg.data.items, *(f for space in spaces for f in (space.enrichment, space.profiles))]
    named += [value for space in spaces for m in space.modalities for key, value in m.params.items()
              if key in ("images", "path")]
    return [str(p) for p in named if isinstance(p, (str, Path)) and str(p)]


def sample_data_config() -> DataConfig:
    """The bundled MovieLens sample, read as it is."""
    return DataConfig(source=str(SAMPLE_DATA))


def adopt_data(data_config: DataConfig, name: str | None = None) -> None:
    """Load the data ``data_config`` describes (cached) and make it the session's dataset."""
    import dataclasses

    from ui.cache import load_data

    set_dataset(load_data(dataclasses.asdict(data_config), name=name), data_config)


def set_dataset(dataset: Any, data_config: DataConfig) -> None:
    """Adopt a newly loaded dataset; what was trained on the old one no longer applies."""
    st.session_state["dataset"] = dataset
    st.session_state["config"].data = data_config
    st.session_state["config"] = fitted_to_data(st.session_state["config"])
    reset_widgets("on_")  # the Train page's switches restart from the fitted setup
    forget_training()
    st.session_state["feedback"] = {}
    st.session_state["enrichment"] = None
    st.session_state["config"].features.enrichment = None


def forget_training() -> None:
    st.session_state["trained_run"] = None
    st.session_state["result"] = None
    st.session_state["trained_from"] = None
    st.session_state["models_saved"] = None


def set_trained(trained_run: TrainedRun, trained_from: RunConfig) -> None:
    """Keep a trained run and a copy of the setup it was trained from; the session's config stays
    as it is (the trained run owns the weights and parameters tuning chose)."""
    st.session_state["trained_run"] = trained_run
    st.session_state["result"] = trained_run.result_
    st.session_state["trained_from"] = trained_from.copy()  # the pages edit the config in place
    st.session_state["feedback"] = {}
    st.session_state["models_saved"] = None  # a new model: not saved yet (ui.saved_runs sets it after)
    for key in ("sweep", "grid", "what_if_matches", "validation_run"):  # results of the previous model
        st.session_state.pop(key, None)
    reset_widgets(WEIGHT_SLIDERS)  # the weight sliders restart from the new result


#: Key prefix of the Train page's live weight sliders (``live_<algorithm>``).
WEIGHT_SLIDERS = "live_"
#: Widget-key prefixes of the setup a preset replaces (Train and Encoders pages).
SETUP_WIDGETS = ("on_", "p_", "split_", "fusion_norm", "tune_on_train", "mod_")


def starting_setups() -> dict[str, int | None]:
    """What the Train page offers to start from: label → None for each preset, else the id of a run
    this session saved."""
    saved = {f"saved run #{r['run_id']}: {r['name']}": r["run_id"] for r in st.session_state["saved_runs"]}
    return {**dict.fromkeys(PRESETS), **saved}


def load_starting_setup(label: str) -> None:
    """Load the preset or saved run ``label`` of ``starting_setups`` on this session's data."""
    run_id, data = starting_setups()[label], config().data
    if run_id is None:
        load_setup(fitted_to_data(load_preset(label, data)))
    else:
        load_setup(fitted_to_data(adopt_setup(RunRegistry(owner=owner()).load(run_id)["config"], data)))


def fitted_to_data(setup: RunConfig) -> RunConfig:
    """``setup`` without what the session's data would take past a limit (``genre.starter_configs.fit_to_data``);
    the notes saying what was left out and why are kept under ``setup_notes`` for the pages to show."""
    dataset, notes = st.session_state.get("dataset"), []
    if dataset is not None:
        setup, notes = fit_to_data(setup, dataset)
    st.session_state["setup_notes"] = notes
    return setup


def setup_notes() -> list[str]:
    """The notes of ``fitted_to_data`` whose algorithm is still off in the session's setup (each note
    starts with its name): once switched on again, its note is no longer shown."""
    init_state()
    off = {a.name for a in config().algorithms if not a.enabled}
    return [note for note in st.session_state["setup_notes"] if note.split(" ", 1)[0] in off]


def load_setup(setup: RunConfig) -> None:
    """Make ``setup`` (a preset or a saved run, on this session's data) the session's config; the
    setup widgets restart from it. A trained model stays until the next Train (marked stale)."""
    st.session_state["config"] = setup
    for prefix in SETUP_WIDGETS:
        reset_widgets(prefix)


def reset_widgets(prefix: str) -> None:
    """Forget the widgets whose keys start with ``prefix``: they start again from the config."""
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[key]


def reset_widgets_when_changed(prefix: str, source: object) -> None:
    """Forget the ``prefix`` widgets when ``source`` (what they were filled from) changed.

    A widget with a key keeps its value across reruns even when its options change, so
    controls pre-filled from one file would carry that file's choices over to the next.
    """
    seen = f"_source_of_{prefix}"
    if st.session_state.get(seen) != source:
        reset_widgets(prefix)
        st.session_state[seen] = source


def carried_weights() -> dict[str, float]:
    """The live mix weights the next Train starts from (``genre.starter_configs.weights_to_carry``)."""
    trained_run = st.session_state.get("trained_run")
    live = trained_run.weights_ if trained_run is not None else {}
    return weights_to_carry(config(), st.session_state.get("trained_from"), live)


def stale_training() -> bool:
    """True when the config changed since training in a way that needs retraining (weights alone do not)."""
    trained_from = st.session_state.get("trained_from")
    return trained_from is not None and needs_retraining(config(), trained_from)


def replay_config() -> RunConfig:
    """The config that replays this session headless (the Configuration page exports it): the
    trained run's — its live weights, and any parameters tuning chose — while the settings match
    it; else the settings the next Train would train."""
    trained_run = st.session_state.get("trained_run")
    return config() if trained_run is None or stale_training() else trained_run.config
