"""GENRE — the Streamlit app's entry point: navigation, the shared frame and the Home page.

Run with ``streamlit run app.py``. Every page lives in ``pages/``; all computation in ``genre``.
"""

import streamlit as st

from ui import state, widgets
from ui.widgets import CONFIG, DATA, DONE, EMBEDDINGS, ENCODERS, METRICS, RECOMMEND, TODO, TRAIN


def home() -> None:
    widgets.header("GENRE", "Explore and configure LLM-powered recommenders.")
    st.markdown(
        "1. **Bring interaction data** — who watched, clicked or rated what — or use the bundled MovieLens sample.\n"
        "2. **Mix recommenders**: collaborative filtering (EASE, ALS, item-kNN…) with content from text "
        "encoders and a language model, and tune the mix.\n"
        "3. **Inspect and compare**: metrics, embedding maps and explained recommendations per user; "
        "export the setup as YAML that `python -m genre run` replays."
    )
    if st.button("Load sample data (MovieLens)", type="primary", key="home_load_sample",
                 help="610 users rating 9,724 movies (ml-latest-small), with titles, genres and tags."):
        with widgets.user_errors():
            state.adopt_data(state.sample_data_config(), name="MovieLens sample")
            st.rerun()
    st.subheader("Where this session stands")
    ss = st.session_state
    dataset, result, runs = ss["dataset"], ss["result"], ss["saved_runs"]
    features = state.config().features
    steps = [
        (dataset is not None, DATA, "Data",
         f"{dataset.name}: {dataset.n_users:,} users, {dataset.n_items:,} items" if dataset is not None
         else "load the sample or upload your files"),
        (dataset is not None, ENCODERS, "Encoders & LLM",
         ", ".join(f"{m.name} → {m.encoder}" for m in features.modalities) or "no content encoders"),
        (result is not None, TRAIN, "Train",
         f"mix of {', '.join(result.weights)}" if result is not None else "choose algorithms and train"),
        (result is not None, EMBEDDINGS, "Embeddings", "items on a 2-D map"),
        (result is not None, METRICS, "Metrics", "compare algorithms, slices and saved runs"),
        (result is not None, RECOMMEND, "Recommendations", "one user's list, explained"),
        (bool(runs), CONFIG, "Configuration",
         f"{len(runs)} saved run(s); export the YAML" if runs else "export or import the YAML"),
    ]
    for done, page, label, detail in steps:
        left, right = st.columns([1, 3])
        with left:
            st.page_link(page, label=label, icon=DONE if done else TODO)
        right.caption(widgets.md(detail))  # names of data, files and encoder parts


# a local icon: a Material icon or emoji as favicon makes every browser fetch it from Google's / a CDN's servers
st.set_page_config(page_title="GENRE", page_icon=str(state.ROOT / "ui" / "icon.png"), layout="wide")
state.init_state()
navigation = st.navigation([
    st.Page(home, title="Home", icon=":material/home:", default=True),
    st.Page(DATA, title="Data", icon=":material/upload_file:"),
    st.Page(ENCODERS, title="Encoders & LLM", icon=":material/hub:"),
    st.Page(TRAIN, title="Train", icon=":material/model_training:"),
    st.Page(EMBEDDINGS, title="Embeddings", icon=":material/scatter_plot:"),
    st.Page(METRICS, title="Metrics", icon=":material/leaderboard:"),
    st.Page(RECOMMEND, title="Recommendations", icon=":material/recommend:"),
    st.Page(CONFIG, title="Configuration", icon=":material/settings:"),
    st.Page("pages/8_Present.py", title="Present", icon=":material/slideshow:", url_path="present"),
])
widgets.sidebar_status()
navigation.run()
