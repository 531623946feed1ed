"""The Recommendations page's "taste described in words": answered from the trained run's item
index, which a background job (``ui.jobs``) prepares when it is not ready yet.

Training takes the index when the run's own vectors or the encoding cache hold it
(``genre.run.text_index``, which says why training never encodes it). Otherwise the catalog's first
encoding — about a minute on the sample — runs as a job from the moment the page switches to words,
while the person types, with counted progress and the time left in the sidebar; so does loading the
text model (a few seconds) when only that is missing. A question asked meanwhile is kept and
answered when the job is collected.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

import streamlit as st

from ui import jobs, widgets

KIND = "what_if"
#: Session keys: the last answer; a question asked while the job ran (a weak reference to its run,
#: the text, k); the run whose preparation was started (weakly: a retrained session frees the old run).
MATCHES, ASKED, STARTED = "what_if_matches", "_what_if_asked", "_what_if_started"


def prepare(trained_run: Any) -> None:
    """Start the job that makes ``trained_run`` answer at once, unless it does already or the job
    runs. It starts by itself once per run; after a Cancel or a failure a button starts it again.
    While another job runs, say that the box waits for it."""
    job = jobs.current()
    if trained_run.what_if_ready or (job is not None and job.running and job.kind == KIND):
        return
    if job is not None and job.running:
        st.info(f"The what-if box is prepared once **{widgets.md(job.label)}** has finished.",
                icon=":material/hourglass_top:")
        return
    started = st.session_state.get(STARTED)
    if started is not None and started() is trained_run and \
            not st.button("Prepare the what-if box", key="what_if_prepare", icon=":material/play_arrow:"):
        return
    found, n = trained_run.find_text_index(), trained_run.dataset_.n_items
    label = "What-if box: loading the text model" if found else f"What-if box: encoding {n:,} item titles (once; cached)"

    def work(progress: Callable) -> None:
        trained_run.prepare_what_if(progress)

    def install(_: None) -> str:
        asked = st.session_state.pop(ASKED, None)
        if asked is not None and asked[0]() is trained_run is st.session_state.get("trained_run"):
            st.session_state[MATCHES] = trained_run.recommend_for_text(asked[1], k=asked[2])
            return "The what-if box is ready: your question is answered on the Recommendations page."
        return "The what-if box is ready on the Recommendations page."

    # the encoding is nearly all of the time: as one stage, its count gives an honest time left
    if jobs.start(KIND, label, 2 if found else 1, work, install):
        st.session_state[STARTED] = weakref.ref(trained_run)
        st.rerun()  # the sidebar shows the job at once


def ask(trained_run: Any, text: str, k: int) -> None:
    """Answer now when the run is ready (one short encoding); else keep the question for the job.
    An empty description is refused at once (``DataError``), never after the wait."""
    from genre.run.text_index import query_text

    text = query_text(text)
    if trained_run.what_if_ready:
        st.session_state[MATCHES] = trained_run.recommend_for_text(text, k=k)
        st.session_state.pop(ASKED, None)
    else:
        st.session_state[ASKED] = (weakref.ref(trained_run), text, k)


def waiting(trained_run: Any) -> str | None:
    """The question kept for the job while it prepares ``trained_run``, else None."""
    asked = st.session_state.get(ASKED)
    return asked[1] if asked is not None and asked[0]() is trained_run and not trained_run.what_if_ready else None
