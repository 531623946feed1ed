"""Data: choose the sample or upload files, map columns, clean, then look at what was loaded."""

import numpy as np
import pandas as pd
import streamlit as st

from genre.config import DataConfig
from genre.data import detect_preset, guess_tables
from genre.data.timestamps import has_time
from genre.data.values import value_kind
from ui import cache, state, widgets

TYPES = ["csv", "tsv", "tab", "txt", "parquet", "pq", "jsonl", "ndjson", "json", "inter", "item", "data", "dat"]
NONE = "(none)"
widgets.header("Data", "Load who interacted with what (and, optionally, item titles and genres), "
                       "check the columns, clean, and look at the data.")
cfg = state.config()
source = st.radio("Source", ["Bundled sample (MovieLens)", "Upload files"], horizontal=True, key="data_source",
                  index=0 if cfg.data.source == str(state.SAMPLE_DATA) or st.session_state["dataset"] is None else 1)
uploads, guess, columns, main_head = [], {}, {}, None
if source == "Upload files":
    left, right = st.columns(2)
    main = left.file_uploader("Interactions", type=TYPES, key="upload_interactions",
                              help="One row per interaction: a user column, an item column, optionally "
                                   "rating and timestamp. CSV, TSV, Parquet or JSON Lines.")
    extra = right.file_uploader("Items and tags (optional)", type=TYPES, accept_multiple_files=True,
                                key="upload_items", help="An item table (id, title, genres, description…) "
                                                         "and, for MovieLens, tags.csv.")
    uploads = ([main] if main else []) + list(extra or [])
    if main:
        # new files get their own guessed mapping, not the choices made for the files before
        state.reset_widgets_when_changed("map_", tuple(f.file_id for f in uploads))
        with widgets.user_errors():
            cache.check_file_count(uploads)  # GENRE_UPLOAD_MAX_FILES
            preset = detect_preset([f.name for f in uploads])
            # item tables whole: the guess checks the interactions' item ids against every item id
            heads = {f.name: cache.read_head(f.name, f.getvalue(), rows=200 if f is main else None) for f in uploads
                     if preset not in ("movielens-100k", "mind")}
            st.caption(f"Detected layout: **{preset}**" if preset else "No known layout: columns guessed by name.")
            for name, head in heads.items():
                with st.expander(f"Preview of {widgets.md(name)}"):
                    st.dataframe(head.head(10), hide_index=True)
            item_file = next((f for f in uploads[1:] if f.name in heads and "tag" not in f.name.lower()), None)
            if main.name in heads:
                main_head = heads[main.name]
                item_head = heads[item_file.name] if item_file else None
                guessed = guess_tables(heads[main.name], item_head,
                                       names=(main.name, item_file.name if item_file else ""))
                guess = guessed.mapping.to_dict()
                columns["interactions"] = list(heads[main.name].columns)
                if item_file:
                    columns["items"] = list(item_head.columns)
                st.caption(f"Guess: {widgets.md(guessed.explanation)}")

with st.form("load_form", border=True):
    chosen = {}
    if columns:
        st.markdown("**Column mapping** — pre-filled with the guess; change it if a column was misread.")
        for table, fields in (("interactions", ("user", "item", "rating", "timestamp")),
                              ("items", ("item_id", "title", "genres", "description", "image"))):
            if table not in columns:
                continue
            options = [NONE] + columns[table]
            for col, field in zip(st.columns(len(fields)), fields):
                default = guess.get(field)
                label = "rating or count" if field == "rating" else field  # plays, clicks… map here too
                chosen[field] = col.selectbox(f"{label} ({table})", options, key=f"map_{field}",
                                              index=options.index(default) if default in options else 0)
    st.markdown("**Cleaning**")
    cleaning = dict(cfg.data.cleaning)
    values, timed = chosen.get("rating", NONE), chosen.get("timestamp", "") != NONE  # the upload's columns, if any
    kind = value_kind(main_head[values], values) if main_head is not None and values in main_head else None
    c1, c2, c3 = st.columns(3)
    tip = (f"E.g. 2 keeps only user–item pairs with 2 {kind.plural} or more." if kind and kind.implicit
           else "E.g. 4 keeps only the items a user rated 4 or more (liked).")
    top, step = (1e9, 1.0) if kind and kind.implicit else (10.0, 0.5)  # counts go past any rating scale
    threshold = c1.number_input(f"Keep {kind.plural if kind else 'ratings'} ≥ (0 = keep all)", 0.0, top,
                                min(float(cleaning.get("min_rating") or 0.0), top), step, key="clean_min_rating",
                                help=tip)
    k_core = c2.number_input("k-core (0 = off)", 0, 100, int(cleaning.get("k_core", 0)), key="clean_k_core",
                             help="Repeatedly drop users and items with fewer interactions than this.")
    dedupe = c3.checkbox("One row per user–item pair", bool(cleaning.get("drop_duplicates", True)),
                         key="clean_dedupe", help="Keep the latest interaction of each pair." if timed else
                         "Keep the last row of each pair (file order: there is no timestamp column).")
    submitted = st.form_submit_button("Load data", type="primary",
                                      disabled=source == "Upload files" and not uploads)

if submitted:
    cleaning = {"min_rating": threshold or None, "k_core": int(k_core), "drop_duplicates": dedupe}
    with widgets.user_errors():
        if source == "Upload files":
            paths = [str(p) for p in cache.save_uploads(uploads, in_use=state.files_in_use())]
            mapping = {k: ("" if v == NONE else v) for k, v in chosen.items() if v != (guess.get(k) or NONE)}
            data = DataConfig(source=paths if len(paths) > 1 else paths[0], mapping=mapping, cleaning=cleaning)
            state.adopt_data(data, name=uploads[0].name)
        else:
            state.adopt_data(DataConfig(source=str(state.SAMPLE_DATA), cleaning=cleaning), name="MovieLens sample")
        st.rerun()

dataset = st.session_state["dataset"]
if dataset is None:
    st.info("Nothing loaded yet: pick the sample or upload files, then press **Load data**.", icon=":material/info:")
    st.stop()

from genre import viz  # noqa: E402  (plotly only once there is something to plot)

summary = dataset.summary()
st.subheader(f"Loaded: {widgets.md(dataset.name)}" + (f" ({dataset.preset})" if dataset.preset else ""))
m = st.columns(5)
m[0].metric("Users", f"{summary['n_users']:,}")
m[1].metric("Items", f"{summary['n_items']:,}")
m[2].metric("Interactions", f"{summary['n_interactions']:,}")
m[3].metric("Density", f"{summary['density']:.2%}")
m[4].metric("Median per user", f"{summary['per_user']['median']:.0f}")
for note in summary["notes"]:
    st.caption(f"• {widgets.md(note)}")
for note in state.setup_notes():  # what the training setup left out for this data (fit_to_data)
    st.info(f"Training setup: {widgets.md(note)}", icon=":material/tune:")

inter = dataset.interactions
items = dataset.items
kind, timed = value_kind(inter["rating"], dataset.value_column), has_time(inter)  # what the values are; any time
tab_charts, tab_items, tab_rows = st.tabs(["Charts", "Items", "Interactions"])
with tab_charts:
    a, b = st.columns(2)
    a.plotly_chart(viz.long_tail_figure(np.bincount(inter["user"], minlength=dataset.n_users), "user"))
    b.plotly_chart(viz.long_tail_figure(np.bincount(inter["item"], minlength=dataset.n_items), "item"))
    a, b = st.columns(2)
    if kind is not None:
        a.plotly_chart(viz.rating_histogram(inter["rating"].to_numpy(), kind))
    else:
        a.info("No ratings or counts: every interaction counts the same.")
    if timed:
        b.plotly_chart(viz.activity_figure(inter["timestamp"].to_numpy()))
    else:
        b.info("No timestamps: interactions are in file order (the notes above say what that rules out).")
    if summary["n_genres"]:
        st.plotly_chart(viz.genre_counts_figure(items["genres"]))
with tab_items:
    shown = items.drop(columns=[c for c in ("tags",) if c in items.columns]).head(200).copy()
    shown["genres"] = shown["genres"].map(", ".join)
    st.dataframe(shown, hide_index=True)
with tab_rows:
    head = inter.head(200)
    st.dataframe(pd.DataFrame({
        "user": dataset.user_ids[head["user"]], "item": dataset.item_ids[head["item"]],
        "title": items["title"].to_numpy()[head["item"]], **({kind.plural: head["rating"]} if kind else {}),
        **({"time": pd.to_datetime(head["timestamp"], unit="s")} if timed else {})}),
        hide_index=True)
