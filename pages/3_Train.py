"""Train: split, algorithms and their key parameters, mix weights; then live re-weighting."""

import time
from dataclasses import replace

import streamlit as st

from genre.algorithms import ALGORITHM_NAMES
from genre.config import AlgorithmConfig
from genre.starter_configs import PRESETS, adopt_setup, load_preset
from genre.data.timestamps import has_time, needs_time, time_free, time_note
from ui import algorithms, state, widgets

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
    saved = {f"saved run #{r['run_id']}: {r['name']}": r["run_id"] for r in st.session_state["saved_runs"]}
    pick_col, load_col = st.columns([4, 1], vertical_alignment="bottom")
    picked = pick_col.selectbox("Start from a preset", [*PRESETS, *saved], key="preset_pick",
                                help="Loads a whole setup — hold-out, item vectors, algorithms, parameters and "
                                     "weights (chosen on validation) — keeping your data.")
    if load_col.button("Load preset", key="preset_load"):
        with widgets.user_errors():
            if picked in saved:
                from genre.runs import RunRegistry

                setup = adopt_setup(RunRegistry(owner=state.owner()).load(saved[picked])["config"],
                                    state.config().data)
            else:
                setup = load_preset(picked, state.config().data)
            state.load_setup(setup)
            widgets.flash(f"Loaded “{picked}”: press Train to fit it.")
            st.rerun()

cfg = state.config()
current = {a.name: a for a in cfg.algorithms}
experiment = st.session_state["experiment"]
interactions = st.session_state["dataset"].interactions
timeless = not has_time(interactions)  # then time-ordered splits and algorithms are off by default

setup = st.expander("Training setup — hold-out and algorithms", expanded=experiment is None)
with setup, st.form("train_form", border=False):
    left, right = st.columns([2, 1])
    method = left.selectbox("Hold-out", list(SPLITS), format_func=SPLITS.get, key="split_method",
                            index=list(SPLITS).index(time_free(cfg.split.method, interactions)))
    if timeless:
        left.caption(time_note())
    share_name = "cold_fraction" if method == "cold_items" else "test_fraction"
    share = right.slider("Held-out share", 0.05, 0.5, float(cfg.split.params.get(share_name, 0.2)), 0.05,
                         key="split_share", disabled=method == "leave_last_out",
                         help="Of each user's interactions (or of the items, for cold-start).")
    st.markdown("**Algorithms** — switch on the ones to mix; their weights are set after training, live.")
    chosen = []
    # an algorithm switched on joins as an average partner, not at 1.0 beside a preset summing to ~1
    enabled_weights = [a.weight for a in cfg.algorithms if a.enabled]
    newcomer = sum(enabled_weights) / len(enabled_weights) if enabled_weights else 1.0
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
            defaults = algorithms.key_params(name)
            cols = st.columns(max(len(defaults), 1))
            for col, (param, default) in zip(cols, defaults.items()):
                params[param] = algorithms.param_input(col, name, param, default, params.get(param, default))
            if on:
                chosen.append(replace(algo, params=params, enabled=True) if algo
                              else AlgorithmConfig(name, params, newcomer, True))
    for algo in (a for a in cfg.algorithms if a.name not in ALGORITHM_NAMES):  # a second entry of one algorithm
        with st.container(border=True):
            space = "on its own item vectors" if algo.features else "on the run's item vectors"
            label = f"**{widgets.md(algo.name)}** — {algo.kind} {space}"  # the name may come from an imported file
            if st.toggle(label, value=algo.enabled, key=f"on_{algo.name}"):
                chosen.append(replace(algo, enabled=True))
    left, right = st.columns(2)
    norm = left.selectbox("Score normalization before mixing", list(NORMALIZATIONS), format_func=NORMALIZATIONS.get,
                          index=list(NORMALIZATIONS).index(cfg.fusion.normalization), key="fusion_norm")
    tune = right.checkbox("Auto-tune weights on a validation split while training", cfg.tuning.enabled,
                          key="tune_on_train", help="Never looks at the test data.")
    train = st.form_submit_button("Train", type="primary")

if train:
    with widgets.user_errors():
        from genre.errors import ConfigError
        from genre.run import Experiment

        if not chosen:
            raise ConfigError("switch on at least one algorithm")
        cfg.split.method = method
        cfg.split.params = {} if method == "leave_last_out" else {share_name: share}
        cfg.algorithms, cfg.fusion.normalization, cfg.tuning.enabled = chosen, norm, tune
        cfg.validate()
        # a new name: if this run fails, the page below keeps showing the earlier training
        run = Experiment(state.copy_config(cfg), dataset=st.session_state["dataset"])
        # stages: split, features, each fit (twice when tuning), scoring, the mix
        progress = widgets.StageProgress(4 + len(chosen) * (2 if tune else 1), "Training…")
        started = time.perf_counter()
        trained = run.train(progress=progress)
        result = trained.result_
        state.set_trained(trained, result)
        widgets.flash(f"Trained {', '.join(result.weights)} in {time.perf_counter() - started:.1f} s.")
        st.rerun()

if experiment is None:
    st.stop()

st.subheader("Mix weights — live")
if state.stale_training():
    st.warning("The settings above differ from the trained model: press **Train** to apply them.", icon=":material/sync_problem:")
result = st.session_state["result"]
names = list(result.weights)
tuned = st.session_state.pop("tuned_weights", {})  # set by Auto-tune on the previous run
for name in names:  # seed the sliders from the result, without also passing a default value
    if name in tuned:
        st.session_state[f"live_{name}"] = tuned[name]
    st.session_state.setdefault(f"live_{name}", float(result.weights[name]))


def remix() -> None:
    """A slider moved: re-mix before the page (and the sidebar, drawn first) runs again."""
    ss = st.session_state
    weights = {n: float(ss[f"live_{n}"]) for n in ss["result"].weights}
    with widgets.user_errors():
        ss["result"] = ss["experiment"].set_weights(weights)
        for algo in state.config().algorithms:
            algo.weight = weights.get(algo.name, algo.weight)
        state.config().tuning.enabled = False  # the weights are now chosen by hand: a replay must not re-tune them


cols = st.columns(len(names) + 1)
# 4-decimal steps: the sliders hold tuned (and shipped) weights exactly, so the metrics shown are that mix's
for n, c in zip(names, cols):
    c.slider(n, 0.0, 1.0, step=0.0001, format="%.4f", key=f"live_{n}", on_change=remix)
if cols[-1].button("Auto-tune weights", key="auto_tune", help="Search weights on a validation split (not the test)."):
    with widgets.user_errors():
        tuning = experiment.tune_weights(progress=widgets.StageProgress(2 + len(names), "Tuning…"))
        st.session_state["tuned_weights"] = {n: float(w) for n, w in tuning.weights.items()}
        for algo in cfg.algorithms:  # the session's config replays the tuned mix as explicit weights
            algo.weight = tuning.weights.get(algo.name, algo.weight)
        cfg.tuning.enabled = False
        st.session_state["result"] = experiment.result_
        st.rerun()
result = st.session_state["result"]

from genre import viz  # noqa: E402

shown = [c for c in ("ndcg@10", "recall@10", "hit_rate@10", "coverage@10") if c in result.metrics.columns]
mix = result.metrics.loc["mix"]
m = st.columns(len(shown))
for col, metric in zip(m, shown):
    best_single = result.metrics.drop(index="mix")[metric].max()
    col.metric(f"mix {metric}", f"{mix[metric]:.4f}", f"{mix[metric] - best_single:+.4f} vs best single")
st.caption("Test metrics of this mix, on the held-out TEST interactions. Weights are chosen on validation "
           "(Auto-tune, and the Metrics page's sweeps), never by watching these numbers.")
left, right = st.columns(2)
left.plotly_chart(viz.metrics_bar(result.metrics, shown[:3]))
right.plotly_chart(viz.timings_figure(result.timings))
tuning = getattr(experiment, "tuning_", None)
if tuning is not None:
    st.plotly_chart(viz.tuning_curve_figure(tuning.curve, tuning.metric))
