"""Train: split, algorithms and their key parameters, mix weights; then live re-weighting."""

import streamlit as st

from genre.algorithms import ALGORITHM_NAMES
from genre.data.timestamps import has_time, needs_time, time_free, time_note
from genre.split import share_param
from genre.starter_configs import switched_on, training_setup
from ui import algorithms, state, training, widgets

SPLITS = {"temporal": "Temporal — each user's latest interactions are the test",
          "random": "Random — a random share of each user's interactions",
          "leave_last_out": "Leave last out — each user's single latest interaction",
          "cold_items": "Cold-start items — some items are unseen in training"}
NORMALIZATIONS = {"minmax": "min–max per user", "zscore": "z-score per user", "rank": "rank per user",
                  "none": "raw scores"}

widgets.header("Train", "Choose how test data is held out and which algorithms to mix, then train. "
                        "After training, the weight sliders re-rank instantly without retraining.")
widgets.need_data()

with st.container(border=True):
    pick_col, load_col = st.columns([4, 1], vertical_alignment="bottom")
    picked = pick_col.selectbox("Start from a preset", list(state.starting_setups()), key="preset_pick",
                                help="Loads a whole setup — hold-out, item vectors, algorithms, parameters and "
                                     "weights (chosen on validation) — keeping your data.")
    if load_col.button("Load preset", key="preset_load"):
        with widgets.user_errors():
            state.load_starting_setup(picked)
            widgets.flash(f"Loaded “{picked}”: press Train to fit it.")
            st.rerun()
for note in state.setup_notes():  # what the setup leaves out for this data (genre.starter_configs.fit_to_data)
    st.info(f"Training setup: {widgets.md(note)}", icon=":material/tune:")

cfg = state.config()
current = {a.name: a for a in cfg.algorithms}
trained_run = st.session_state["trained_run"]
interactions = st.session_state["dataset"].interactions
timeless = not has_time(interactions)  # then time-ordered splits and algorithms are off by default

with (st.expander("Training setup — hold-out and algorithms", expanded=trained_run is None),
      st.form("train_form", border=False)):
    left, right = st.columns([2, 1])
    method = left.selectbox("Hold-out", list(SPLITS), format_func=SPLITS.get, key="split_method",
                            index=list(SPLITS).index(time_free(cfg.split.method, interactions)))
    if timeless:
        left.caption(time_note())
    share_name = share_param(method)  # None: the method holds out one interaction per user
    share = right.slider("Held-out share", 0.05, 0.5, float(cfg.split.params.get(share_name, 0.2)), 0.05,
                         key="split_share", disabled=share_name is None,
                         help="Of each user's interactions (or of the items, for cold-start).")
    st.markdown("**Algorithms** — switch on the ones to mix; their weights are set after training, live.")
    chosen = []
    grid = st.columns(2)
    for i, name in enumerate(ALGORITHM_NAMES):
        algo = current.get(name)
        with grid[i % 2].container(border=True):
            problem = algorithms.unavailable(name)
            untimed = timeless and not problem and needs_time(name)
            on = st.toggle(f"**{name}**", value=algo is not None and algo.enabled and not problem and not untimed,
                           key=f"on_{name}", disabled=bool(problem))
            st.caption(problem or algorithms.DESCRIPTIONS.get(name, "") + (" Needs timestamps." * untimed))
            if problem:
                continue
            params = dict(algo.params) if algo else {}
            fields = list(algorithms.key_params(name).items())
            per_row = max(len(fields), 1) if len(fields) <= 4 else 3  # more than 4 side by side: labels wrap mid-word
            for start in range(0, len(fields), per_row):
                for col, (param, default) in zip(st.columns(per_row), fields[start:start + per_row]):
                    params[param] = algorithms.param_input(col, name, param, default, params.get(param, default))
            if on:
                chosen.append(switched_on(cfg, name, params))
    for algo in (a for a in cfg.algorithms if a.name not in ALGORITHM_NAMES):  # a second entry of one algorithm
        with st.container(border=True):
            space = "on its own item vectors" if algo.features else "on the run's item vectors"
            label = f"**{widgets.md(algo.name)}** — {algo.kind} {space}"  # the name may come from an imported file
            if st.toggle(label, value=algo.enabled, key=f"on_{algo.name}"):
                chosen.append(switched_on(cfg, algo.name, algo.params))
    left, right = st.columns(2)
    norm = left.selectbox("Score normalization before mixing", list(NORMALIZATIONS), format_func=NORMALIZATIONS.get,
                          index=list(NORMALIZATIONS).index(cfg.fusion.normalization), key="fusion_norm")
    tune = right.checkbox("Auto-tune weights on a validation split while training", cfg.tuning.enabled,
                          key="tune_on_train", help="Never looks at the test data.")
    train = st.form_submit_button("Train", type="primary")

if train:
    with widgets.user_errors():
        if training.train(training_setup(cfg, split_method=method, share=share, algorithms=chosen,
                                         normalization=norm, tune=tune, live_weights=state.carried_weights())):
            st.rerun()  # the sidebar shows the job at once
widgets.job_note("train", "auto_tune")

if trained_run is None:
    st.stop()

st.subheader("Mix weights — live")
if state.stale_training():
    st.warning("The settings above differ from the trained model: press **Train** to apply them.", icon=":material/sync_problem:")
names = training.seed_sliders()
cols = st.columns(len(names) + 1)
# 4-decimal steps: the sliders hold tuned (and shipped) weights exactly, so the metrics shown are that mix's
for n, c in zip(names, cols):
    c.slider(n, 0.0, 1.0, step=0.0001, format="%.4f", key=training.slider_key(n), on_change=training.remix)
if cols[-1].button("Auto-tune weights", key="auto_tune", help="Search weights on a validation split (not the test)."):
    with widgets.user_errors():
        if training.auto_tune():
            st.rerun()
result = st.session_state["result"]

from genre import viz, viz_compare  # noqa: E402

shown = [c for c in ("ndcg@10", "recall@10", "hit_rate@10", "coverage@10") if c in result.metrics.columns]
mix = result.metrics.loc["mix"]
m = st.columns(len(shown))
for col, metric in zip(m, shown):
    best_single = result.metrics.drop(index="mix")[metric].max()
    col.metric(f"mix {metric}", f"{mix[metric]:.4f}", f"{mix[metric] - best_single:+.4f} vs best single")
st.caption("Test metrics of this mix, on the held-out TEST interactions. Weights are chosen on validation "
           "(Auto-tune, and the Metrics page's sweeps), never by watching these numbers.")
cue = st.empty()
if result.partial:  # a slider move measured @10 first; the rest (for the other pages) after this page drew
    cue.caption(":material/progress_activity: updating the other metrics (@20, diversity) for the Metrics page…")
training.tune_panel()
left, right = st.columns(2)
left.plotly_chart(viz_compare.metrics_intervals_bar(result.metrics, result.intervals, shown[:3]))
right.plotly_chart(viz.timings_figure(result.timings))
tuning = trained_run.tuning_
if tuning is not None:
    st.plotly_chart(viz_compare.tuning_curve_before_figure(tuning.curve, tuning.metric,
                                                              getattr(tuning, "baseline_score", None)))
training.complete(cue)
