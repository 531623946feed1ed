"""Widgets every page shares: header, sidebar status, error display, progress, guards."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Iterator

import streamlit as st

from genre.errors import GenreError
from genre.personas import image_file
from genre.safe_text import escape_markdown as md  # every label or message that quotes data goes through it
from ui import jobs, state
from ui.cache import renew_upload_lease

#: Page files, in navigation order (app.py registers them; page_link uses them).
DATA, ENCODERS, TRAIN = "pages/1_Data.py", "pages/2_Encoders.py", "pages/3_Train.py"
EMBEDDINGS, METRICS, RECOMMEND = "pages/4_Embeddings.py", "pages/5_Metrics.py", "pages/6_Recommendations.py"
CONFIG = "pages/7_Configuration.py"
#: Checklist marks (Material icons: emoji need a font headless browsers may lack).
DONE, TODO = ":material/check_circle:", ":material/radio_button_unchecked:"


def header(title: str, intro: str) -> None:
    """Page title, a one-line explanation of what the page is for, any message left by ``flash`` and
    the notice of a background job that ended (``ui.jobs``), each once."""
    st.title(title)
    st.caption(intro)
    _renew_upload_lease()
    jobs.collect()  # a job that ended since the sidebar was drawn (AppTest may run a page alone)
    message = st.session_state.pop("_flash", None)
    if message:
        st.success(md(message), icon=DONE)
    kind, message = st.session_state.pop(jobs.NOTICE, (None, None))  # how the session's last job ended
    if message:
        show = {"success": st.success, "warning": st.warning, "error": st.error}[kind]
        show(md(message), icon={"success": DONE, "warning": ":material/warning:"}.get(kind, ":material/error:"))


def _renew_upload_lease() -> None:
    """Every page run renews this session's lease on its uploads (``ui.cache.renew_upload_lease``)."""
    try:
        renew_upload_lease()
    except GenreError as exc:  # a full or read-only disk: the page still works, pruning may not wait
        logging.getLogger("genre").warning("upload lease not renewed: %s", exc)


def image_source(value: object) -> str | None:
    """An item's image as ``st.image`` may show it, else None.

    A file only inside the operator's data roots (``genre.paths``: an item table must not
    make the server serve its other files); a web address only when the operator sets
    ``GENRE_REMOTE_IMAGES=1``, because the viewer's browser fetches it from that host.
    """
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return value if os.environ.get("GENRE_REMOTE_IMAGES") == "1" else None
    return image_file(value)


def flash(message: str) -> None:
    """Show ``message`` at the top of the page after the coming ``st.rerun()``."""
    st.session_state["_flash"] = message


def job_panel() -> None:
    """The session's running job in the sidebar: label, progress with counts and time left, Cancel;
    redrawn every second on its own (a fragment) while the page stays as it is."""
    if jobs.current() is not None:
        st.fragment(run_every=1.0)(_job_progress)()


def job_note(*kinds: str) -> None:
    """On the page that starts jobs of these ``kinds``, while one runs: where its progress is, and
    that leaving the page is fine."""
    job = jobs.current()
    if job is not None and job.running and job.kind in kinds:
        st.info(f"**{md(job.label)}** runs in the background: its progress is in the sidebar, on every page. "
                "You may leave this page meanwhile; only Cancel stops it.", icon=":material/hourglass_top:")


def _job_progress() -> None:
    job = jobs.current()
    if job is None:
        return
    if not job.running:  # ended since: the whole page reruns, collects it and shows the result
        st.rerun()
    shown = job.snapshot()
    with st.container(border=True):
        st.markdown(f":material/hourglass_top: **{md(shown.label)}**")
        st.progress(shown.fraction, text=md(shown.stage))
        left = f" · {jobs.time_left(shown.eta)}" if shown.eta is not None else ""
        counted = jobs.counted(shown)
        st.caption((f"{md(counted)}  \n" if counted else "") + f"{jobs.duration(shown.elapsed)} so far{left}  \n"
                   "Runs on while you visit other pages.")
        st.button("Cancelling…" if shown.cancelling else "Cancel", key="job_cancel", on_click=jobs.cancel,
                  disabled=shown.cancelling, icon=":material/cancel:", help="Stop it; what is there now stays.")


def sidebar_status() -> None:
    """Where the session stands, in the sidebar of every page."""
    ss = st.session_state
    jobs.collect()  # a job that ended: its result is in the session before anything is drawn
    with st.sidebar:
        st.subheader("This session")
        job_panel()
        dataset = ss.get("dataset")
        if dataset is None:
            st.markdown(f":gray[{TODO} no data loaded]")
        else:
            st.markdown(f":green[{DONE}] **{md(dataset.name)}**  \n{dataset.n_users:,} users · {dataset.n_items:,} items · "
                        f"{dataset.n_interactions:,} interactions")
        result = ss.get("result")
        if result is None:
            st.markdown(f":gray[{TODO} not trained yet]")
        else:
            mix = result.metrics.loc["mix"]
            stale = " — :orange[settings changed, retrain]" if state.stale_training() else ""
            st.markdown(f":green[{DONE}] trained: {md(', '.join(result.weights))}  \nmix NDCG@10 **{mix.get('ndcg@10', float('nan')):.4f}**{stale}")
        runs = ss.get("saved_runs") or []
        st.markdown(f"{':green[' + DONE + ']' if runs else ':gray[' + TODO + ']'} {len(runs)} saved run{'s' if len(runs) != 1 else ''}")


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a ``GenreError`` as ``st.error`` (its message says what to fix), never a traceback."""
    try:
        yield
    except GenreError as error:
        st.error(md(error), icon=":material/error:")  # messages quote file names, columns, values


def need_data() -> None:
    """Stop the page with a pointer to the Data page when no dataset is loaded."""
    if st.session_state.get("dataset") is None:
        st.info("No data yet: load the sample data or upload your own first.", icon=":material/info:")
        st.page_link(DATA, label="Go to Data", icon=":material/upload_file:")
        st.stop()


def need_training() -> None:
    """Stop the page with a pointer to the Train page when nothing is trained."""
    need_data()
    if st.session_state.get("trained_run") is None:
        job = jobs.current()
        if job is not None and job.running and job.kind == "train":
            st.info(f"**{md(job.label)}** is running: its progress is in the sidebar, and this page fills in "
                    "when it is done.", icon=":material/hourglass_top:")
            st.stop()
        st.info("Nothing trained yet: pick algorithms and press Train first.", icon=":material/info:")
        st.page_link(TRAIN, label="Go to Train", icon=":material/model_training:")
        st.stop()
