"""Embeddings: items on a 2-D map (PCA instantly, UMAP on demand), coloured, searchable, with a user overlaid."""

import json

import numpy as np
import pandas as pd
import streamlit as st

from genre import viz
from ui import cache, widgets

widgets.header("Embeddings", "Each dot is an item placed by its content vector: similar items sit together. "
               "Hover for titles, search to highlight, and overlay a user's history and recommendations.")
widgets.need_training()
experiment = st.session_state["experiment"]
dataset = experiment.dataset_
trained = st.session_state["trained_config"]

genres, genre_names = dataset.genre_matrix()
sources = {"content": "Content vectors (Encoders page)"} if experiment.item_vectors_ is not None else {}
if genre_names:
    sources["genres"] = "Genres (multi-hot)"
if not sources:
    st.info("No item vectors to map: add an encoder part on the Encoders page and train again.",
            icon=":material/info:")
    st.stop()
c1, c2, c3 = st.columns(3)
source = c1.selectbox("Vectors", list(sources), format_func=sources.get, key="emb_source")
method = c2.radio("Projection", ["pca", "umap"], horizontal=True, key="emb_method",
                  format_func={"pca": "PCA (instant)", "umap": "UMAP (slower, cached)"}.get,
                  help="UMAP keeps neighbourhoods better; its first run takes up to a minute.")
color = c3.selectbox("Colour by", ["genre", "popularity", "cluster"], key="emb_color")

vectors = experiment.item_vectors_ if source == "content" else genres
key = json.dumps({"data": trained.to_dict()["data"], "features": trained.to_dict()["features"],
                  "source": source, "n": dataset.n_items}, sort_keys=True, default=str)
with widgets.user_errors():
    coords = cache.projection(key, vectors, method, trained.seed)
    points = pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1], "title": dataset.items["title"]})
    if color == "genre":
        points["genre"] = [gs[0] if len(gs) else "(no genre)" for gs in dataset.items["genres"]]
    elif color == "popularity":
        counts = np.bincount(dataset.interactions["item"], minlength=dataset.n_items)
        points["popularity"] = np.log10(counts + 1)
    else:
        points["cluster"] = [f"cluster {c + 1}" for c in cache.map_clusters(f"{key}|{method}", coords, trained.seed)]
    c1, c2 = st.columns(2)
    query = c1.text_input("Highlight titles containing", key="emb_search", placeholder="e.g. Star Wars")
    user = c2.selectbox("Overlay a user", ["(none)", *experiment.user_ids_evaluated], key="emb_user")
    highlight = points["title"].str.contains(query, case=False, regex=False).to_numpy() if query else None
    overlays = {}
    if user != "(none)":
        overlays["history"] = dataset.item_index(experiment.history(user)["item_id"].to_numpy())
        overlays["recommended"] = dataset.item_index(experiment.recommend(user, k=10, explain=False)["item_id"])
    label = "log₁₀ interactions" if color == "popularity" else color
    fig = viz.embedding_figure(points.rename(columns={"popularity": label}), color=label, highlight=highlight,
                               overlays=overlays, title=f"{dataset.n_items:,} items — {sources[source]}, {method.upper()}")
    st.plotly_chart(fig)
    if query:
        st.caption(f"{int(highlight.sum())} titles contain “{widgets.md(query)}”.")
