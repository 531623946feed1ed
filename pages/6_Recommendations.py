"""Recommendations: one user's history beside their explained top-k, with live like / dislike."""

import streamlit as st

from genre import viz
from genre.data.timestamps import has_time
from genre.data.values import value_kind
from genre.personas import held_out_badge
from genre.hosting.uploads import safe_file_name
from ui import saved_runs, what_if, widgets

widgets.header("Recommendations", "Pick a user to see what they had and what the mix recommends — and why; "
                                  "or describe a taste in words.")
widgets.need_training()
trained_run = st.session_state["trained_run"]
dataset = trained_run.dataset_
mode = st.radio("Who", ["A user from the data", "A taste described in words"], horizontal=True, key="rec_mode")
k = st.slider("How many recommendations", 5, 30, 10, key="rec_k")

if mode == "A taste described in words":
    what_if.prepare(trained_run)  # the item index and text model, in the background while one types
    with st.form("what_if"):
        text = st.text_input("Describe the taste", "space operas and animated comedies", key="what_if_text")
        asked = st.form_submit_button("Find matching items", type="primary")
    if asked:
        with widgets.user_errors():
            what_if.ask(trained_run, text, k)
    widgets.job_note(what_if.KIND)
    waiting = what_if.waiting(trained_run)
    if waiting:
        st.caption(f"“{widgets.md(waiting)}” is answered here as soon as the what-if box is ready.")
    matches = st.session_state.get(what_if.MATCHES)
    if matches is not None:
        shown = matches.assign(genres=matches["genres"].map(", ".join))
        st.dataframe(shown, hide_index=True, column_config={
            "similarity": st.column_config.ProgressColumn("similarity", min_value=0.0, max_value=1.0, format="%.2f")})
    st.stop()

users = dataset.user_ids  # any user: one outside the evaluated ones is scored on demand
user = st.selectbox(f"User ({len(users):,} users, {len(trained_run.users_):,} of them evaluated)", users,
                    key="rec_user")
feedback = st.session_state["feedback"].setdefault(str(user), {"liked": [], "disliked": []})
with widgets.user_errors():
    recs = trained_run.recommend(user, k=k, explain=True, liked=tuple(feedback["liked"]),
                                disliked=tuple(feedback["disliked"]))
    history = trained_run.history(user)

timed, kind = has_time(dataset.interactions), value_kind(dataset.interactions["rating"], dataset.value_column)
badge = held_out_badge(trained_run.config.split.method, dataset.interactions)  # "watched later" only with time
left, right = st.columns([2, 3])
with left:
    st.markdown(f"**History** — {len(history)} training interactions" + (", newest first" if timed else ""))
    shown = ["title", *(["rating"] if kind else []), *(["timestamp"] if timed else [])]
    st.dataframe(history[shown], hide_index=True, height=560, column_config={
        "title": st.column_config.TextColumn(width="large"), "rating": kind.plural if kind else "rating",
        "timestamp": st.column_config.DatetimeColumn("when", format="YYYY-MM-DD")})
with right:
    hits = int(recs["held_out"].sum()) if "held_out" in recs else 0
    st.markdown(f"**Top {len(recs)}** — {hits} of them in this user's held-out test items "
                f"(marked :green-badge[{badge}])")
    images = dataset.items["image"].to_numpy() if "image" in dataset.items.columns else None
    for row in recs.itertuples():
        *picture, a, b, c = st.columns([1, 10, 1, 1] if images is not None else [10, 1, 1], vertical_alignment="center")
        source = widgets.image_source(images[dataset.item_index(row.item_id)[0]]) if picture else None
        if source:
            picture[0].image(source, width=56)
        chips = " ".join(f":violet-badge[{widgets.md(title)}]" for title in getattr(row, "because", []))
        because = f" · because of {chips} (by {widgets.md(row.explained_by)})" if chips else ""
        mark = f" :green-badge[{badge}]" if getattr(row, "held_out", False) else ""
        a.markdown(f"**{row.rank}. {widgets.md(row.title)}**{mark}  \n"
                   f":gray[{widgets.md(', '.join(row.genres))}{because}]")
        if b.button(":material/thumb_up:", key=f"like_{user}_{row.item_id}", help="More like this"):
            feedback["liked"].append(row.item_id)
            st.rerun()
        if c.button(":material/thumb_down:", key=f"dislike_{user}_{row.item_id}", help="Not for me"):
            feedback["disliked"].append(row.item_id)
            st.rerun()
    if feedback["liked"] or feedback["disliked"]:
        st.caption(f"Feedback: {len(feedback['liked'])} liked, {len(feedback['disliked'])} disliked "
                   "(liked items pull similar ones up; both leave the list).")
        if st.button("Clear feedback", key="clear_feedback"):
            st.session_state["feedback"].pop(str(user))
            st.rerun()
    export = recs.assign(genres=recs["genres"].map("|".join))
    st.download_button("Download as CSV", export.to_csv(index=False).encode(),
                       safe_file_name(f"recommendations_user_{user}.csv"), "text/csv", key="rec_csv")

if any(c.startswith("contrib_") for c in recs.columns):
    st.plotly_chart(viz.contributions_figure(recs))

st.subheader("Serve this run")
saved_runs.show_serving(user, k)
