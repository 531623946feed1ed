"""Encoders & LLM: item fields → encoders and weights; LLM-written item text and user profiles; genre tagging."""

import io

import pandas as pd
import streamlit as st

from genre.config import ModalityConfig
from ui import cache, encoder_jobs, llm, state, widgets

ENCODERS = {"tfidf": "TF-IDF words (fast)", "minilm": "MiniLM sentences (384-d, ~45 s / 10k items, cached)",
            "use-multilingual": "Multilingual USE (512-d)", "multi-hot": "Categories as flags (genres, tags)",
            "image": "Images (EfficientNet)", "precomputed": "Your own vectors (Parquet)",
            "openai-embeddings": "LLM server embeddings (/v1/embeddings)",
            "minilm-adapted": "MiniLM adapted to this data (learns from training interactions)"}
widgets.header("Encoders & LLM", "Turn item content into vectors for the content-aware algorithms, and let a "
                                 "language model write extra item text or user profiles.")
widgets.need_data()
cfg, dataset = state.config(), st.session_state["dataset"]
features = cfg.features
fields = [c for c in dataset.items.columns if c != "item_id"] + (["tags"] if dataset.tags is not None else [])
fields = list(dict.fromkeys(fields + (["llm_text"] if features.enrichment else [])))
widgets.job_note(*encoder_jobs.KINDS)  # encoding, LLM text and tagging run as jobs: where their progress is
tab_enc, tab_llm, tab_prof, tab_tag = st.tabs(["Item encoders", "LLM item text", "LLM user profiles", "Genre tagging"])

with tab_enc:
    a, b = st.expander("Item images or your own vectors (optional)").columns(2)
    images = a.file_uploader("Item images (a zip of files named by item id, e.g. 42.jpg)", type=["zip"], key="images_zip")
    vectors = b.file_uploader("Precomputed vectors (Parquet: item_id, vector)", type=["parquet"], key="vectors_file")
    extra = {"image": None, "precomputed": None, "openai-embeddings": None}
    with st.expander("Embedding server (optional: Ollama, vLLM, text-embeddings-inference…)"), widgets.user_errors():
        extra["openai-embeddings"] = llm.embedding_server_widget()
    with st.expander("MiniLM adapted to this data"):
        st.caption("Fine-tunes MiniLM's top layer so that items users consume one after the other end up close "
                   "(contrastive loss on consecutive pairs of each user's training history). It trains when a run "
                   "trains, on that run's training interactions only, keeps the step best on held-out pairs from "
                   "the end of training, and is cached.")
        now = next((m.params for m in features.modalities if m.encoder == "minilm-adapted"), {})
        c = st.columns(3)
        extra["minilm-adapted"] = {
            "budget_s": c[0].number_input("Training budget (s)", 10.0, 3600.0, float(now.get("budget_s", 180.0)),
                                          30.0, key="adapt_budget"),
            "lr": c[1].number_input("Learning rate", 1e-6, 1e-2, float(now.get("lr", 3e-4)), format="%.0e",
                                    key="adapt_lr"),
            "layers": c[2].number_input("Top layers trained", 1, 4, int(now.get("layers", 1)), key="adapt_layers")}
    with widgets.user_errors():
        kept = state.files_in_use()
        extra.update({"image": {"images": str(cache.save_uploads([images], in_use=kept)[0])} if images else None,
                      "precomputed": {"path": str(cache.save_uploads([vectors], in_use=kept)[0])} if vectors else None})
    choices = [e for e in ENCODERS if e not in extra or extra[e] or any(m.encoder == e for m in features.modalities)]
    rows = features.modalities + [ModalityConfig(name=f"part{len(features.modalities) + 1}", fields=[], weight=1.0)]
    with st.form("modalities"):
        st.caption("One row per part of the item vector: which fields, which encoder, how much it counts. "
                   "The last row is blank: fill it to add a part.")
        chosen = []
        for i, m in enumerate(rows):
            c = st.columns([1, 2, 4, 3, 2], vertical_alignment="bottom")
            use = c[0].checkbox("use", i < len(features.modalities), key=f"mod_use_{i}")
            name = c[1].text_input("name", m.name, key=f"mod_name_{i}")
            picked = c[2].multiselect("fields", fields, [f for f in m.fields if f in fields], key=f"mod_fields_{i}")
            encoder = c[3].selectbox("encoder", choices, choices.index(m.encoder) if m.encoder in choices else 0,
                                     format_func=ENCODERS.get, key=f"mod_enc_{i}")
            weight = c[4].slider("weight", 0.0, 1.0, float(m.weight), 0.05, key=f"mod_w_{i}")
            if use:
                params = extra.get(encoder) or (m.params if encoder == m.encoder else {})
                chosen.append(ModalityConfig(name.strip() or f"part{i + 1}", picked, encoder, dict(params), weight))
        apply = st.form_submit_button("Apply encoders", type="primary")
    if apply:
        features.modalities = chosen
        state.reset_widgets("mod_")  # rows are renumbered: let them start again from the config
        widgets.flash(f"{len(chosen)} encoder part(s) set: train again to use them.")
        st.rerun()
    if st.button("Encode now (fills the cache, shows the report)", key="encode_now"):
        from genre.encoders import Modality

        parts = [Modality(m.name, list(m.fields), m.encoder, dict(m.params), m.weight) for m in features.modalities
                 if m.encoder != "minilm-adapted"]
        if len(parts) < len(features.modalities):
            st.caption("MiniLM adapted to this data is trained with the run (Train page), not here.")
        if parts and encoder_jobs.encode(dataset, parts):
            st.rerun()  # the sidebar shows the job at once
    if (report := encoder_jobs.result("encode", dataset)) is not None:
        st.dataframe(report)
    with st.expander("Cache status"):
        info = pd.DataFrame(cache.embedding_cache().info())
        st.dataframe(info.assign(MB=info["bytes"] / 1e6).drop(columns="bytes") if len(info) else info, hide_index=True)
        st.dataframe(pd.Series(cache.output_cache().models(), name="cached LLM outputs"))

with tab_llm:
    from genre.llm import ITEM_TEMPLATE, load_enrichment, select_items

    kind, options = llm.client_widget()
    template = st.text_area("Prompt template (use {field} placeholders)", ITEM_TEMPLATE, height=130, key="enrich_template")
    c = st.columns(4)
    used = c[0].multiselect("Fields", [f for f in fields if f != "llm_text"], ["title", "genres"], key="enrich_fields")
    strategy = c[1].selectbox("Which items", ["fewest_interactions", "first", "all"], key="enrich_strategy",
                              format_func={"fewest_interactions": "fewest interactions first", "first": "first items",
                                           "all": "all items"}.get)
    n = c[2].number_input("How many", 1, dataset.n_items, min(50, dataset.n_items), key="enrich_n",
                          disabled=strategy == "all")
    max_tokens = c[3].number_input("Max tokens per answer", 8, 256, 24, key="enrich_tokens")
    selected = select_items(dataset, strategy, None if strategy == "all" else int(n))
    st.caption(llm.estimate(kind, len(selected), int(max_tokens)))
    left, right, _ = st.columns([1, 1, 2])
    preview = left.button("Preview on 5 items", key="enrich_preview")
    run = right.button(f"Generate for {len(selected):,} items", type="primary", key="enrich_run")
    if preview or run:
        target = selected[:5] if preview else selected
        with widgets.user_errors():
            if encoder_jobs.item_text(dataset, llm.client(kind, options), target, template, used, int(max_tokens),
                                      features, adopt=len(target) == len(selected)):
                st.rerun()
    if (written := encoder_jobs.result("llm_text", dataset)) is not None:
        st.dataframe(written, hide_index=True)
    bundled = state.SAMPLE_DATA / "enrichment" / "smollm2_items.csv"
    if cfg.data.source == str(state.SAMPLE_DATA) and bundled.is_file():
        if st.button("Use the descriptions SmolLM2 already wrote for the sample", key="enrich_bundled",
                     help="sample_data/enrichment/smollm2_items.csv — see its README for how it was made."):
            with widgets.user_errors():
                llm.adopt_enrichment(load_enrichment(bundled), features, path=bundled)
    uploaded = st.file_uploader("…or load text generated earlier (CSV: item_id, text)", type=["csv"], key="enrich_file")
    if uploaded is not None and st.button("Use this file", key="enrich_use_file"):
        with widgets.user_errors():
            llm.adopt_enrichment(load_enrichment(io.BytesIO(uploaded.getvalue())), features)
    frame = st.session_state["enrichment"]
    if frame is not None:
        st.markdown(f"**In use:** {len(frame):,} generated texts as the item field `llm_text`")
        shown = frame.head(50).copy()
        shown.attrs = {}
        st.dataframe(shown, hide_index=True, height=200)
        st.download_button("Download the generated text (CSV)", frame.to_csv(index=False).encode(), "llm_item_text.csv",
                           "text/csv", key="enrich_download")
    st.download_button("Export the whole LLM output cache (CSV)", llm.cache_csv, "llm_cache.csv", "text/csv",
                       key="llm_cache_download", on_click="ignore")

with tab_prof:
    trained_run = st.session_state["trained_run"]
    if trained_run is None:
        st.info("Train first: profiles are written from training interactions only, never from test items.")
    else:
        from genre.llm import PROFILE_TEMPLATE

        p_template = st.text_area("Profile prompt ({titles}, {genres}, {n})", PROFILE_TEMPLATE, height=130, key="prof_template")
        users = trained_run.split_.test_users
        count = st.number_input("Users to profile", 1, len(users), min(20, len(users)), key="prof_n")
        st.caption(llm.estimate(kind, int(count), 24) + " The model is chosen on the LLM item text tab.")
        if st.button("Write profiles", type="primary", key="prof_run"):
            with widgets.user_errors():
                if encoder_jobs.profiles(dataset, trained_run, llm.client(kind, options), users[: int(count)],
                                         p_template, features):
                    st.rerun()
        if (profiles := encoder_jobs.result("llm_profiles", dataset)) is not None:
            st.dataframe(profiles, hide_index=True)

with tab_tag:
    st.caption("Predict genres from item text — useful for items without genres. Accuracy is measured on a "
               "hold-out of items whose genres are known, against always guessing the most common genre.")
    c = st.columns(2)
    t_encoder = c[0].selectbox("Encoder", ["minilm", "use-multilingual"], format_func=ENCODERS.get, key="tag_encoder")
    t_fields = c[1].multiselect("Text fields", [f for f in fields if f != "genres"], ["title"], key="tag_fields")
    if st.button("Measure tagging accuracy", key="tag_run") and t_fields:
        with widgets.user_errors():
            from genre.run.encoding import with_enrichment_file

            tagged = with_enrichment_file(dataset, features.enrichment)
            if encoder_jobs.tagging(dataset, tagged, t_encoder, tuple(t_fields)):
                st.rerun()
    if (table := encoder_jobs.result("tagging", dataset)) is not None:
        st.dataframe(table.style.format("{:.3f}", subset=[c for c in table.columns if c != "n_test"]))
