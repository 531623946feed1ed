"""Embeddings: items and users on one 2-D map (PCA instantly, UMAP on demand), coloured, searchable,
with a chosen user's history and recommendations overlaid; for a run with an adapted encoder, its items
before and after adaptation side by side (ui.adaptation)."""

import json

import numpy as np
import pandas as pd
import streamlit as st

from genre import viz
from genre.run import spaces
from ui import adaptation, cache, projections, widgets

widgets.header("Embeddings", "Each dot is an item placed by its vector: similar items sit together. Users (▲) "
               "are drawn in the same projection where the space has user vectors. Hover for titles, search "
               "to highlight, and overlay a user's history and recommendations.")
widgets.need_training()
trained_run = st.session_state["trained_run"]
dataset = trained_run.dataset_
trained_from = st.session_state["trained_from"]
if adaptation.offered(trained_run) and st.radio(
        "View", ["map", "adaptation"], horizontal=True, key="emb_view",
        format_func={"map": "Map", "adaptation": "Before / after adaptation"}.get,
        help="This run adapted MiniLM to its data: compare the frozen model's map with the adapted one.") != "map":
    adaptation.show(trained_run, trained_from)
    st.stop()

if st.session_state.get("_emb_spaces_of") is not trained_run:  # once per trained run
    st.session_state["_emb_spaces"] = spaces.vector_spaces(trained_run)
    st.session_state["_emb_spaces_of"] = trained_run
vector_spaces = st.session_state["_emb_spaces"]  # source → its vector space (genre.run.spaces)
if not vector_spaces:
    st.info("No item vectors to map: add an encoder part on the Encoders page and train again.",
            icon=":material/info:")
    st.stop()
c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
source = c1.selectbox("Vectors", list(vector_spaces), format_func=lambda k: vector_spaces[k].label, key="emb_source")
space = vector_spaces[source]
method = c2.radio("Projection", ["pca", "umap"], horizontal=True, key="emb_method",
                  format_func={"pca": "PCA (instant)", "umap": "UMAP (slower, cached)"}.get,
                  help="UMAP keeps neighbourhoods better; its first layout takes up to a minute, in the background.")
color = c3.selectbox("Colour by", spaces.map_colorings(dataset), key="emb_color")  # genre only when items have one
show_users = c4.toggle("Users", value=True, key="emb_users", disabled=not space.has_users,
                       help="Draw the users of this space in the same projection as the items.")
users = spaces.drawn_users(trained_run, trained_from.seed) if show_users and space.has_users else None
if users is not None:
    st.caption(f"Users and items share this space ({widgets.md(space.label)}): one projection of both. A user "
               f"blends many items, so in PCA users gather apart from single items; overlay a user to see the "
               f"items it scores highest, or switch to UMAP, which keeps neighbourhoods. "
               f"{len(users):,} of {len(trained_run.users_):,} evaluated users drawn"
               + (" (a seeded sample: the map stays quick)." if len(users) < len(trained_run.users_) else "."))
elif not space.has_users:
    st.caption("This space has no user vectors, so users are not drawn: choose content vectors or a "
               "collaborative model's space to see them.")

key = json.dumps({"run": trained_from.to_dict(), "source": source, "n": dataset.n_items,
                  "users": None if users is None else len(users)}, sort_keys=True, default=str)
with widgets.user_errors():
    coords, placed = projections.coordinates(key, space.stacked(users), method, trained_from.seed)
    if placed != method:
        st.info("UMAP is laying this map out in the background (progress in the sidebar); PCA is shown "
                "meanwhile, and the map switches when it is ready.", icon=":material/hourglass_top:")
    points = pd.DataFrame({"x": coords[:dataset.n_items, 0], "y": coords[:dataset.n_items, 1],
                           "title": dataset.items["title"]})
    if color == "cluster":
        points["cluster"] = [f"cluster {c + 1}" for c in
                             cache.map_clusters(f"{key}|{placed}", coords[:dataset.n_items], trained_from.seed)]
    else:  # genre (first genre of each item) or popularity band
        points[color] = spaces.item_coloring(dataset, color)[1]
    c1, c2 = st.columns(2)
    query = c1.text_input("Highlight titles containing", key="emb_search", placeholder="e.g. Star Wars")
    user = c2.selectbox("Overlay a user", ["(none)", *trained_run.user_ids_evaluated], key="emb_user")
    highlight = points["title"].str.contains(query, case=False, regex=False).to_numpy() if query else None
    overlays = spaces.user_overlay(trained_run, user) if user != "(none)" else {}
    label = color
    title = (f"{dataset.n_items:,} items" + (f" and {len(users):,} users" if users is not None else "")
             + f" — {space.label}, {placed.upper()}")
    if users is None:
        fig = viz.embedding_figure(points, color=label, highlight=highlight, overlays=overlays, title=title)
    else:
        user_points = pd.DataFrame({"x": coords[dataset.n_items:, 0], "y": coords[dataset.n_items:, 1],
                                    "user": dataset.user_ids[users]})
        rows = np.flatnonzero(dataset.user_ids[users] == user) if user != "(none)" else []
        fig = viz.users_and_items_figure(points, user_points, chosen=rows[0] if len(rows) else None, color=label,
                                         highlight=highlight, overlays=overlays, title=title)
    st.plotly_chart(fig)
    if query:
        st.caption(f"{int(highlight.sum())} titles contain “{widgets.md(query)}”.")
    if overlays:
        st.caption(f"Overlaid: user {widgets.md(str(user))}'s {len(overlays['history'])} training items (○) and "
                   f"the mix's top {len(overlays['recommended'])} for them (★ markers)"
                   + (", and the user itself (red star)." if users is not None and len(rows) else "."))
