"""Runs saved with their models: save one from the Metrics page, reopen it without retraining, and
the lines that serve it (shown on the Recommendations page).

The registry (``genre.runs``) keeps the row and the folder under this session's owner; only that
owner can open the folder. The session remembers which folder holds the current trained run
(``models_saved``: run id, folder, the saved config's sha256 from the manifest) so the serve and
curl lines name it; the weights stay the trained run's alone.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

import pandas as pd

from genre import compare, viz_compare
from genre.compare import SavedRun
from genre.config import dump_config
from genre.runs import RunRegistry, sharing_enabled
from ui import state, widgets


def section(result: Any) -> None:
    """The Metrics page's Saved runs: save the current run (with or without its models), compare
    saved runs, open one saved with models. With ``result`` None (nothing trained) only the last."""
    with widgets.user_errors():  # a registry that cannot be opened costs this section, not the page
        reg = registry()
        if result is not None:
            _save_form(reg, result)
        shared = sharing_enabled() and st.toggle("Include runs of other sessions", key="runs_shared",
                                                 help="The operator shares saved runs (GENRE_SHARE_RUNS=1).")
        runs = reg.list("all" if shared else "own")
        if not len(runs):
            if result is not None:
                st.caption("No saved runs yet: save this one, change the mix, save again, and compare them here.")
            return
        mine = state.owner()
        labels = {int(r.id): f"#{r.id} {r.name}" + ("" if r.owner == mine else " (other session)")
                  for r in runs.itertuples()}
        if result is not None:
            _compare(reg, labels)
        openable = [int(r.id) for r in runs.itertuples() if r.models and r.owner == mine]  # models: owner only
        if openable:
            left, right = st.columns([3, 1], vertical_alignment="bottom")
            chosen = left.selectbox("Saved with models", openable, format_func=labels.get, key="open_run_id")
            if right.button("Open", key="open_run", help="Loads the saved models (no retraining) for "
                                                         "Recommendations and Embeddings."):
                widgets.flash(open_run(chosen))
                st.rerun()


def _save_form(reg: RunRegistry, result: Any) -> None:
    with st.form("save_run", border=False):
        left, right, models = st.columns([3, 1, 1], vertical_alignment="bottom")
        name = left.text_input("Run name", value=" + ".join(f"{k} {v:g}" for k, v in result.weights.items()),
                               key="run_name")
        plain = right.form_submit_button("Save this run", type="primary")
        with_models = models.form_submit_button("Save with models", help="Also writes the trained models, so the "
                                                "run reopens without retraining and can be served over HTTP.")
    if not (plain or with_models):
        return
    name = name.strip() or None
    with widgets.user_errors(), st.spinner("Saving…"):  # a refused save: one line, the runs stay listed
        if with_models:
            widgets.flash(save_with_models(name))
            run_id = st.session_state["saved_runs"][-1]["run_id"]
        else:
            run_id = reg.save(result, name=name)
            st.session_state["saved_runs"].append({"run_id": run_id, "name": name})
            widgets.flash(f"Saved run #{run_id}.")
        picked = st.session_state.get("compare_runs") or []
        st.session_state["compare_runs"] = [*picked[-2:], run_id]  # show the new run at once
        st.rerun()  # the sidebar's run count is drawn before this page: draw it again


def _compare(reg: RunRegistry, labels: dict[int, str]) -> None:
    if "compare_runs" not in st.session_state:  # a fresh session: only what it saved itself
        st.session_state["compare_runs"] = [r["run_id"] for r in st.session_state["saved_runs"]][-3:]
    st.session_state["compare_runs"] = [i for i in st.session_state["compare_runs"] if i in labels]
    picked = st.multiselect("Compare", list(labels), format_func=labels.get, key="compare_runs")
    if picked:
        runs = [SavedRun.from_record(reg.load(i)) for i in picked]
        table = pd.DataFrame({run.label: pd.Series(run.metrics, dtype=float) for run in runs}).T
        metric = st.selectbox("Compare on", list(table.columns), key="compare_metric",
                              index=list(table.columns).index("ndcg@10") if "ndcg@10" in table.columns else 0)
        bars = compare.interval_table(runs, metric)
        st.plotly_chart(viz_compare.comparison_intervals_bar(bars, metric))
        bases = list(dict.fromkeys(bars["basis"]))
        said = bases[0] + " of each run" if len(bases) == 1 else \
            " · ".join(f"{r.run}: {r.basis}" for r in bars.itertuples())
        st.caption(f"Bars on {widgets.md(metric)}: {widgets.md(said)}.")
        if len(runs) > 1:  # the best run against each other one: best − other
            best = runs[int(bars["value"].fillna(-float("inf")).to_numpy().argmax())]
            for row in (compare.difference(run, best, metric) for run in runs if run is not best):
                text = widgets.md(compare.sentence(row, metric))
                if row["measurable"] is None:
                    st.caption(text)
                else:
                    (st.success if row["measurable"] else st.info)(text, icon=":material/straighten:")
        st.dataframe(table.style.format("{:.4f}", na_rep="—").highlight_max(axis=0, color="#d3f9d8"))
        _weights(runs)


def _weights(runs: list[SavedRun]) -> None:
    """Each algorithm's weight per compared run, the rows where they differ highlighted."""
    weights = compare.weight_table(runs)
    differs = weights.pop("differs")
    weights["differs"] = ["≠" if d else "" for d in differs]
    shade = ["background-color: #fff3bf"] * weights.shape[1]
    st.markdown("**Weights per run**" + (" — the highlighted rows differ" if differs.any() else " — the same in every run"))
    st.dataframe(weights.style.format("{:.4f}", na_rep="— (not in run)", subset=weights.columns[:-1])
                 .apply(lambda row: shade if differs[row.name] else [""] * len(row), axis=1))


def registry() -> RunRegistry:
    """The run registry, as this session's owner."""
    return RunRegistry(owner=state.owner())


def save_with_models(name: str | None) -> str:
    """Save the session's trained run as a run and with its models; returns the message to show."""
    trained_run = st.session_state["trained_run"]
    run_id, manifest = registry().save_with_models(trained_run, name=name)
    st.session_state["saved_runs"].append({"run_id": run_id, "name": name})
    _remember(run_id, registry().models_folder(run_id), manifest, trained_run)
    return f"Saved run #{run_id} with its models ({_size(manifest.get('bytes', 0))} on disk)."


def open_run(run_id: int) -> str:
    """Load run ``run_id``'s saved models (checked, no refit) and make it the session's trained run,
    its config the session's config and its data the session's data; returns the message to show.
    A refused folder raises ``GenreError`` (one line) and leaves the session as it was."""
    from genre.run import TrainedRun  # the run core loads when a run is opened, not on the page's first view

    started = time.perf_counter()
    folder = registry().models_path(run_id)
    trained_run = TrainedRun.load(folder)
    st.session_state["dataset"] = trained_run.dataset_
    st.session_state["enrichment"] = None
    setup = trained_run.config
    state.load_setup(setup)
    state.set_trained(trained_run, trained_from=setup)
    _remember(run_id, folder, trained_run.manifest_, trained_run)
    return f"Opened run #{run_id} in {time.perf_counter() - started:.1f} s — no model was refitted."


def _remember(run_id: int, folder: Any, manifest: dict[str, Any], trained_run: Any) -> None:
    st.session_state["models_saved"] = {"run_id": run_id, "path": str(folder), "run": trained_run,
                                        "config_sha256": manifest.get("config_sha256")}


def serving_lines(user_id: object, k: int) -> str | None:
    """``python -m genre serve <folder>`` and the ``curl`` asking it for ``user_id``'s top-``k``, when
    the session's trained run was saved with its models (else None)."""
    from genre.serving import curl_command, serve_command  # loads the run core: imported on use

    saved = st.session_state.get("models_saved")
    trained_run = st.session_state.get("trained_run")
    if not saved or saved["run"] is not trained_run:
        return None
    return f"{serve_command(saved['path'])}\n{curl_command(user_id, k)}"


def show_serving(user_id: object, k: int) -> None:
    """The Recommendations page's "Serve this run": the serve and curl lines, or how to get them."""
    lines = serving_lines(user_id, k)
    if lines is None:
        st.caption("Save the run with models (Metrics page, \"Save with models\") to serve it over HTTP.")
        return
    st.code(lines, language="bash")
    changed = " The mix changed since it was saved: the server answers with the saved mix." \
        if weights_changed_since_saved() else ""
    st.caption(f"Run #{st.session_state['models_saved']['run_id']} as saved, without likes or dislikes.{changed} "
               "With GENRE_API_KEY set for the server, add -H \"X-API-Key: $GENRE_API_KEY\" to the curl.")


def weights_changed_since_saved() -> bool:
    """True when the live mix moved after the run was saved (the folder serves the saved mix)."""
    from genre.run.persist import config_hash  # the run core: imported on use

    saved = st.session_state.get("models_saved")
    trained_run = st.session_state.get("trained_run")
    return (bool(saved) and saved["run"] is trained_run
            and saved["config_sha256"] != config_hash(dump_config(trained_run.config)))


def _size(n_bytes: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:,.0f} {unit}" if unit == "B" else f"{n_bytes:,.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes} B"
