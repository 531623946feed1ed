"""Metrics: the current mix against each algorithm, slices, saved runs side by side, weight sweeps."""

import streamlit as st

from genre import viz, viz_compare
from ui import saved_runs, sweeps, widgets

widgets.header("Metrics", "How well the mix ranks each user's held-out items, compared with its parts "
                          "and with saved runs. Higher is better for every metric except popularity bias.")
if st.session_state.get("trained_run") is None:  # nothing trained: a run saved with models reopens at once
    saved_runs.section(None)
widgets.need_training()
trained_run = st.session_state["trained_run"]
result = st.session_state["result"] = trained_run.result_  # every metric (a slider move measured @10 first)
metrics = result.metrics
available = list(metrics.columns)
preferred = [c for c in ("ndcg@10", "recall@10", "hit_rate@10", "coverage@10") if c in available]

st.subheader("Current mix — on test")
st.caption("Test metrics are for the mix you trained (and its parts) only, measured once on the held-out TEST "
           "interactions; the sweeps and the heat map below explore weights on validation, since picking weights "
           "off test curves would be tuning on test.")
chosen = st.multiselect("Metrics to plot", available, default=preferred, key="metrics_shown")
if chosen:
    st.plotly_chart(viz_compare.metrics_intervals_bar(metrics, result.intervals, chosen))
    st.caption("Bars: 95 % intervals over the evaluated users (coverage is one figure for the catalogue: none). "
               "Two bars whose intervals overlap may not differ measurably.")
higher_is_better = [c for c in metrics.columns if not c.startswith("popularity_bias")]
st.dataframe(metrics.style.format("{:.4f}").highlight_max(axis=0, color="#d3f9d8", subset=higher_is_better))
if result.intervals is not None:  # ± half-width of each metric's 95 % interval, cell for cell
    st.dataframe(result.intervals.style.format(lambda v: "" if v != v else f"± {v:.4f}"))
    st.caption("± half-width of the 95 % interval (normal approximation over per-user values; coverage has "
               "none). Above evaluation.max_users test users, metrics are over a seeded sample of them.")
st.caption(f"Weights: {widgets.md(', '.join(f'{k} {v:g}' for k, v in result.weights.items()))} · "
           f"{len(trained_run.user_ids_evaluated):,} users evaluated.")

st.subheader("Who the mix serves")
slice_metrics = [c for c in result.slices.columns if "@" in c]
left, right = st.columns([3, 2])
slice_metric = right.selectbox("Slice metric", slice_metrics, key="slice_metric",
                               index=next((i for i, c in enumerate(slice_metrics) if c.startswith("recall")), 0),
                               help="Item-popularity slices have recall only: a user's test items split by slice.")
right.dataframe(result.slices[["group", "n_users", slice_metric]], hide_index=True,
                column_config={slice_metric: st.column_config.NumberColumn(format="%.4f")})
left.plotly_chart(viz.slices_figure(result.slices, slice_metric))

st.subheader("Saved runs")
saved_runs.section(result)


st.subheader("Weight sweep — on validation")
st.caption("Computed on the validation carve of the training data — what Auto-tune uses — never on test. The "
           "first sweep or heat map fits each algorithm once on that carve.")
names = list(result.weights)
left, right = st.columns([1, 1])
swept = left.selectbox("Vary the weight of", names, key="sweep_algo")
sweep_metric = right.selectbox("Metric", preferred or available, key="sweep_metric")
if st.button("Run sweep", key="run_sweep", help="Evaluates the mix at 11 weights; nothing is retrained."):
    with widgets.user_errors():
        if sweeps.sweep(swept):
            st.rerun()  # the sidebar shows the job at once
widgets.job_note("sweep", "grid")
sweep = st.session_state.get("sweep")
if sweep and sweep[0] == swept and sweep[1] is not None:
    st.plotly_chart(viz_compare.sweep_best_figure(sweep[1], sweep_metric, current=result.weights.get(swept),
                                                  on="validation"))
    sweeps.use_best_button("sweep", sweep_metric, "use_sweep_best")

if len(names) >= 2:
    st.subheader("Two weights at once — on validation")
    left, right = st.columns(2)
    x = left.selectbox("Across", names, index=0, key="grid_x")
    y = right.selectbox("Up", [n for n in names if n != x], key="grid_y")
    if st.button("Run heat map (6 × 6 mixes)", key="run_grid", help="36 re-rankings; nothing is retrained."):
        with widgets.user_errors():
            if sweeps.grid(x, y):
                st.rerun()
    grid = st.session_state.get("grid")
    if grid and grid[:2] == (x, y):
        st.plotly_chart(viz_compare.heatmap_best_figure(grid[2], x, y, sweep_metric, on="validation",
                                                        current=result.weights))
        sweeps.use_best_button("grid", sweep_metric, "use_grid_best")
