"""Configuration: the whole session as YAML — export it for the CLI, or import one to restore a setup."""

import streamlit as st

from genre.config import dump_config, parse_config_text
from genre.errors import ConfigError
from genre.hosting.confine import confine_config
from ui import cache, state, widgets

widgets.header("Configuration", "Everything this session set up — data, encoders, algorithms, weights — as "
                                "one YAML file. `python -m genre run FILE` replays it and prints the same metrics.")
text = dump_config(state.replay_config())  # the trained run's live weights while the settings match it

left, right = st.columns(2)
with left:
    st.subheader("Export")
    if state.stale_training():
        st.warning("The settings changed since the last training: the metrics below belong to the "
                   "trained model, the YAML to the new settings. Train again to match them.", icon=":material/sync_problem:")
    st.download_button("Download genre-config.yaml", text.encode(), "genre-config.yaml", "application/x-yaml",
                       type="primary", key="config_download")
    st.code(text, language="yaml")
    st.caption("Replay it headless:")
    st.code("python -m genre run genre-config.yaml", language="bash")

with right:
    st.subheader("Import")
    with st.form("import_config"):
        uploaded = st.file_uploader("A GENRE config (YAML)", type=["yaml", "yml"], key="config_file")
        pasted = st.text_area("…or paste its YAML text here", height=260, key="config_text",
                              placeholder="algorithms:\n- name: ease\n  weight: 1.0",
                              help="YAML text only: a file path typed here is not opened. Data files a config "
                                   "names must be uploads or lie in the folders the operator allows.")
        apply = st.form_submit_button("Apply configuration", type="primary")
    if apply:
        with widgets.user_errors():
            try:
                source = uploaded.getvalue().decode("utf-8") if uploaded else pasted
            except UnicodeDecodeError:
                raise ConfigError(f"{uploaded.name} is not UTF-8 text: upload the YAML file GENRE exported") from None
            if not source.strip():
                raise ConfigError("choose a YAML file or paste a config first")
            imported = parse_config_text(source)  # text, never a path; bounded against YAML bombs
            confine_config(imported, uploads=cache.own_uploads())  # this session's uploads, or GENRE_DATA_ROOTS
            same_data = imported.data == state.config().data and st.session_state["dataset"] is not None
            if not same_data:
                state.adopt_data(imported.data)
            st.session_state["config"] = imported
            widgets.flash("Configuration applied" + ("" if same_data else " and its data loaded") +
                          ". Open Train to train it.")
            st.rerun()

result = st.session_state["result"]
if result is not None:
    st.subheader("Metrics the replay reproduces")
    st.dataframe(result.metrics.style.format("{:.4f}"))
