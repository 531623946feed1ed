"""The Embeddings page's "Before / after adaptation" view: the frozen and the adapted model side by side.

The frozen model may have to encode thousands of items first (minutes on a small CPU), so the
comparison (``genre.run.adaptation_view.compare_adaptation``) runs as a background job (``ui.jobs``),
counted in the sidebar; it starts by itself the first time a run's view opens and by a button after
a cancel or a failure (never in a loop). Its result stays in the session for that run. The two maps
share one PCA projection, or get one UMAP layout each (``ui.projections``' jobs), and are coloured alike.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st

from genre import viz
from genre.run import adaptation_view, spaces
from genre.run.adaptation_view import Adaptation
from genre.safe_text import escape_markdown as md
from ui import cache, jobs, projections, widgets

#: Session keys: (run, modality, Adaptation) once computed; (run, modality) once a job was started.
HELD, TRIED = "_adaptation", "_adaptation_tried"


def offered(trained_run: Any) -> bool:
    """Whether the run adapted a modality (the view is offered only then)."""
    return bool(adaptation_view.adapted_modalities(trained_run))


def show(trained_run: Any, trained_from: Any) -> None:
    """The whole view: what adaptation is, what changed, the two maps, one item's neighbours."""
    names = adaptation_view.adapted_modalities(trained_run)
    name = names[0] if len(names) == 1 else st.selectbox("Adapted modality", names, key="adapt_modality")
    fields = ", ".join(next(m.fields for m in trained_run.config.features.modalities if m.name == name))
    st.markdown(f"**What adaptation is.** This run fine-tuned the top layer of its MiniLM model on the items "
                f"your users took one after another in TRAIN, so that such items end up close. Left: the frozen "
                f"model on the same fields ({md(fields)}); right: the adapted one the run used.")
    view = _view(trained_run, name)
    if view is not None:
        _figures(view)
        _maps(trained_run, trained_from, view)
        _neighbour_table(trained_run.dataset_, view)


def _view(trained_run: Any, name: str) -> Adaptation | None:
    """The comparison of ``name`` when it is there; else start (or offer to start) its job."""
    held = st.session_state.get(HELD)
    if held is not None and held[0] is trained_run and held[1] == name:
        return held[2]
    widgets.job_note("adaptation")
    job = jobs.current()
    if job is not None and job.running and job.kind == "adaptation":
        return None
    tried = st.session_state.get(TRIED)
    first = tried is None or tried[0] is not trained_run or tried[1] != name
    n = min(trained_run.dataset_.n_items, adaptation_view.MAX_ITEMS)
    if first or st.button("Compare before and after", key="adapt_start", icon=":material/compare:"):
        if _start(trained_run, name, n):
            st.session_state[TRIED] = (trained_run, name)
            st.rerun()  # the sidebar shows the job at once
    else:
        st.caption(f"The comparison was stopped or failed (see the message above). It encodes {n:,} items "
                   f"with the frozen model (cached on disk: instant the second time).")
    return None


def _start(trained_run: Any, name: str, n: int) -> bool:
    def work(progress: Callable) -> Adaptation:
        return adaptation_view.compare_adaptation(trained_run, name, progress=progress)

    def install(view: Adaptation) -> str:
        st.session_state[HELD] = (trained_run, name, view)
        return "Before / after adaptation is ready on the Embeddings page."

    # one stage: the frozen model's encoding is the work, and its count drives the time left
    return jobs.start("adaptation", f"Before / after adaptation: {n:,} items", 1, work, install)


def _figures(view: Adaptation) -> None:
    """What changed, in numbers a newcomer can read, with how they were measured underneath."""
    columns = st.columns(3)
    labels = {"train": ("Next TRAIN item is closer than", "pairs adaptation learned from"),
              "test": ("Next TEST item is closer than", "pairs adaptation never saw")}
    n = len(view.items)
    for column, (part, (label, what)) in zip(columns, labels.items()):
        if part in view.pairs:
            found = view.pairs[part]
            column.metric(label, f"{found.closer_before:.0%} → {found.closer_after:.0%}", border=True,
                          help=f"Seen from an item a user took, the share of the {n:,} compared items that lie "
                               f"farther than the item they took next, frozen → adapted; 50 % is chance "
                               f"({found.pairs:,} {what}).")
    changed = "—" if np.isnan(view.neighbours_changed) else f"{view.neighbours_changed:.0%}"  # ≤ 10 items
    columns[2].metric("Nearest neighbours changed", changed, border=True,
                      help=f"Of each item's {adaptation_view.NEIGHBOURS} nearest items (among the {n:,} "
                           f"compared), the share that are new after adaptation (averaged over "
                           f"{adaptation_view.NEIGHBOUR_QUERIES} items at most).")
    raw = "; ".join(f"{part.upper()}: {c.cosine_before:.2f} vs {c.random_before:.2f} before, {c.cosine_after:.2f} "
                    f"vs {c.random_after:.2f} after" for part, c in view.pairs.items())
    st.caption(f"“Closer than”: seen from an item a user took, the share of the {n:,} compared items lying farther "
               f"from it than the item they took next (50 % = chance). Raw cosines of consecutive items vs the same "
               f"items paired at random — {raw}: adaptation draws all items closer together, so the ranks say more.")
    report = view.report
    if report is None:
        st.caption("This run reused adapted vectors from the embedding cache (an identical earlier fit, or a "
                   "reopened run), so it holds no training report.")
        return
    st.caption(f"Training: {report['steps']:,} steps on {report['train_pairs']:,} pairs (stopped: "
               f"{report['stopped']}), {report['train_s']:.0f} s; the step kept ({report['best_step']}) is the "
               f"best on {report['val_pairs']:,} held-out TRAIN pairs: next-item MRR "
               f"{report['val_mrr_frozen']:.4f} → {report['val_mrr_best']:.4f}, hit@10 "
               f"{report['val_hit@10_frozen']:.1%} → {report['val_hit@10_best']:.1%} (frozen → kept).")
    if report["best_step"] == 0:
        st.warning("No training step beat the frozen model on the held-out pairs, so the run kept the frozen "
                   "model: before and after barely differ. A larger training budget (Encoders page) lets "
                   "adaptation get further.", icon=":material/info:")


def _maps(trained_run: Any, trained_from: Any, view: Adaptation) -> None:
    """The two maps: same items, same projection method, same colouring, same highlighted titles."""
    dataset, n = trained_run.dataset_, len(view.items)
    c1, c2, c3 = st.columns([2, 2, 3])
    method = c1.radio("Projection", ["pca", "umap"], horizontal=True, key="adapt_method",
                      format_func={"pca": "PCA (instant)", "umap": "UMAP (slower, cached)"}.get)
    color = c2.selectbox("Colour by", spaces.map_colorings(dataset), key="adapt_color")
    query = c3.text_input("Highlight titles containing", key="adapt_search", placeholder="e.g. Star Wars")
    key = json.dumps({"run": trained_from.to_dict(), "adaptation": view.modality, "n": n}, sort_keys=True, default=str)
    with widgets.user_errors():
        before, after, placed = _coordinates(key, view, method, trained_from.seed)
        if placed != method:
            st.info("UMAP is laying the two maps out in the background, one after the other (progress in the "
                    "sidebar); PCA is shown meanwhile.", icon=":material/hourglass_top:")
        titles = dataset.items["title"].iloc[view.items].reset_index(drop=True)
        if color == "cluster":  # the groups of the adapted map, shown where they sat before
            labels = [f"cluster {c + 1}" for c in cache.map_clusters(f"{key}|{placed}", after, trained_from.seed)]
        else:
            labels = spaces.item_coloring(dataset, color)[1][view.items]
        highlight = titles.str.contains(query, case=False, regex=False).to_numpy() if query else None
        sample = f" (a seeded sample of {dataset.n_items:,})" if n < dataset.n_items else ""
        how = ("one PCA projection of both spaces, so the axes are shared" if placed == "pca" else
               "one UMAP layout per space (compare where groups and titles sit, not the axes)")
        st.caption(f"{n:,} items{sample}, {how}" + ("; colours: the clusters of the adapted map." if color == "cluster"
                                                    else "."))
        for column, space, rows in zip(st.columns(2), (view.before, view.after), (before, after)):
            points = pd.DataFrame({"x": rows[:, 0], "y": rows[:, 1], "title": titles, color: labels})
            figure = viz.embedding_figure(points, color=color, highlight=highlight, title=space.label)
            figure.update_layout(legend={"orientation": "h", "y": -0.08})  # below: both plots keep one width
            column.plotly_chart(figure, key=f"adapt_map_{space.key}")


def _coordinates(key: str, view: Adaptation, method: str, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(before, after) 2-D coordinates and the method that placed them. PCA: one projection of both, on
    shared axes. UMAP: one layout per space, the after one first, each a job of ``ui.projections`` (a
    joint UMAP would glue each item's two positions together and hide the change); PCA until both are."""
    if method == "umap":
        after, placed = projections.coordinates(f"{key}|after", view.after.items, "umap", seed)
        if placed == "umap":
            before, placed = projections.coordinates(f"{key}|before", view.before.items, "umap", seed)
            if placed == "umap":
                return before, after, "umap"
    both = cache.projection(key, view.stacked(), "pca", seed)
    return both[:len(view.items)], both[len(view.items):], "pca"


def _neighbour_table(dataset: Any, view: Adaptation) -> None:
    """One item's nearest items before and after: the change, one title at a time."""
    counts = np.bincount(dataset.interactions["item"], minlength=dataset.n_items)[view.items]
    titles = dataset.items["title"].iloc[view.items].astype(str).to_numpy()
    order = np.argsort(-counts, kind="stable")  # most interacted first: ones a person knows
    chosen = st.selectbox("Nearest neighbours of", order.tolist(), format_func=lambda p: titles[p], key="adapt_item")
    before, after = view.neighbours(int(chosen))
    st.dataframe(pd.DataFrame({"before (frozen)": titles[before], "after (adapted)": titles[after]},
                              index=pd.RangeIndex(1, len(before) + 1, name="rank")), width="stretch")
