"""Metrics: the current mix against each algorithm, slices, saved runs side by side, weight sweeps."""

import numpy as np
import streamlit as st

from genre import viz
from ui import widgets

widgets.header("Metrics", "How well the mix ranks each user's held-out items, compared with its parts "
                          "and with saved runs. Higher is better for every metric except popularity bias.")
widgets.need_training()
experiment, result = st.session_state["experiment"], st.session_state["result"]
metrics = result.metrics
available = list(metrics.columns)
preferred = [c for c in ("ndcg@10", "recall@10", "hit_rate@10", "coverage@10") if c in available]

st.subheader("Current mix")
chosen = st.multiselect("Metrics to plot", available, default=preferred, key="metrics_shown")
left, right = st.columns([3, 2])
if chosen:
    left.plotly_chart(viz.metrics_bar(metrics, chosen))
right.dataframe(metrics[chosen or available].style.format("{:.4f}").highlight_max(axis=0, color="#d3f9d8"),
                height=min(420, 38 * (len(metrics) + 1)))
st.caption(f"Weights: {', '.join(f'{k} {v:g}' for k, v in result.weights.items())} · "
           f"{len(experiment.user_ids_evaluated):,} users evaluated.")

st.subheader("Who the mix serves")
slice_metric = st.selectbox("Slice metric", [c for c in result.slices.columns if "@" in c],
                            index=0, key="slice_metric")
left, right = st.columns([3, 2])
left.plotly_chart(viz.slices_figure(result.slices, slice_metric))
right.dataframe(result.slices, hide_index=True)

st.subheader("Saved runs")
from genre.runs import RunRegistry  # noqa: E402

registry = RunRegistry()
with st.form("save_run", border=False):
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.text_input("Run name", value=" + ".join(f"{k} {v:g}" for k, v in result.weights.items()),
                           key="run_name")
    if right.form_submit_button("Save this run", type="primary"):
        with widgets.user_errors():
            run_id = registry.save(result, name=name.strip() or None)
            st.session_state["saved_runs"].append({"run_id": run_id, "name": name})
            picked = st.session_state.get("compare_runs") or []
            st.session_state["compare_runs"] = [*picked[-2:], run_id]  # show the new run at once
            st.toast(f"Saved run #{run_id}")
runs = registry.list()
if len(runs):
    labels = {int(r.id): f"#{r.id} {r.name}" for r in runs.itertuples()}
    if "compare_runs" not in st.session_state:
        mine = [r["run_id"] for r in st.session_state["saved_runs"]][-3:] or list(labels)[-2:]
        st.session_state["compare_runs"] = [i for i in mine if i in labels]
    picked = st.multiselect("Compare", list(labels), format_func=labels.get, key="compare_runs")
    if picked:
        table = registry.compare(picked).T
        metric = st.selectbox("Compare on", list(table.columns), key="compare_metric",
                              index=list(table.columns).index("ndcg@10") if "ndcg@10" in table.columns else 0)
        left, right = st.columns([3, 2])
        left.plotly_chart(viz.comparison_bar(table.reset_index(names="run"), metric))
        right.dataframe(table.T.style.format("{:.4f}"), height=360)
else:
    st.caption("No saved runs yet: save this one, change the mix, save again, and compare them here.")

st.subheader("Weight sweep")
names = list(result.weights)
left, right = st.columns([1, 1])
swept = left.selectbox("Vary the weight of", names, key="sweep_algo")
sweep_metric = right.selectbox("Metric", preferred or available, key="sweep_metric")
if st.button("Run sweep", key="run_sweep", help="Evaluates the mix at 11 weights; nothing is retrained."):
    with widgets.user_errors(), st.spinner("Re-ranking at each weight…"):
        st.session_state["sweep"] = (swept, experiment.weight_sweep(swept, np.linspace(0, 1, 11)))
sweep = st.session_state.get("sweep")
if sweep and sweep[0] == swept and sweep[1] is not None:
    st.plotly_chart(viz.sweep_figure(sweep[1], sweep_metric, x="weight", current=result.weights.get(swept)))
