"""Background jobs owned by the browser session: long work that outlives the page it started on.

Streamlit stops a script run when the person clicks another page, and a training running inside
that run died with it. A ``Job`` runs the work in a worker thread instead, so leaving a page never
cancels it; only Cancel does. The worker never calls ``st.*`` nor touches the session: it writes
its progress into the ``Job`` (a plain, thread-safe object the session keeps under ``"job"``)
through genre's ``progress(done, total, message)`` callback, which raises ``genre.errors.Cancelled``
once Cancel was pressed. The script thread — the sidebar of every page (``ui.widgets``) — draws the
progress and, once the work ended, ``collect`` hands the result to the job's ``install`` (which
puts it into the session) and leaves the notice the page shows once.

One job at a time per session: a second start while one runs is refused with a message.

Examples
--------
>>> started = start("train", "Training EASE", n_stages=5,          # doctest: +SKIP
...                 work=lambda progress: experiment.train(progress=progress),
...                 install=lambda run: state.set_trained(run, setup) or "Trained.")
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from genre.errors import Cancelled, GenreError
from genre.safe_text import escape_markdown as md

#: The session key holding the session's job (running, or ended and not collected yet).
KEY = "job"
RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"
#: A notice: (kind, message), kind one of "success", "warning", "error"; the session keeps the
#: latest under ``NOTICE`` until a page header shows it (``ui.widgets.header``).
Notice = tuple[str, str]
NOTICE = "_job_notice"
log = logging.getLogger("genre")


@dataclass(frozen=True)
class Snapshot:
    """A job's progress at one moment, read under its lock: what the sidebar draws."""

    label: str
    state: str
    fraction: float          # the whole job, 0–1, never running backwards
    stage: str               # the current stage's message
    done: int                # counted work within the stage (total 0: the stage does not count)
    total: int
    step: str                # the counted work's own message
    elapsed: float           # seconds since the start
    eta: float | None        # seconds left, estimated from the pace so far (None: too early to say)
    cancelling: bool
    error: str | None


class Job:
    """One piece of long work running in a worker thread; it never touches Streamlit.

    Parameters
    ----------
    kind : str
        What the work is ("train", "auto_tune", "sweep", …).
    label : str
        What the person reads ("Training EASE, item_knn").
    n_stages : int
        How many stage messages (``progress(0, 0, message)``) the work sends: the first ``progress``
        bar advances one step per stage, counted progress (``done / total``) fills the step.
    work : callable
        ``work(progress) -> result``, run in the worker thread; may raise ``GenreError``.
    install : callable
        ``install(result) -> str | Notice``, run in the script thread by ``collect``: puts the result
        into the session and says what happened (a ``str`` is a success).
    """

    def __init__(self, kind: str, label: str, n_stages: int, work: Callable[[Callable], Any],
                 install: Callable[[Any], str | Notice]):
        self.kind, self.label, self.n_stages = kind, label, max(int(n_stages), 1)
        self.install = install
        self._work = work
        self._lock = threading.Lock()
        self._cancel, self._ended = threading.Event(), threading.Event()
        self.started = time.monotonic()
        self.state, self.error, self.result = RUNNING, None, None
        self._stage, self._fraction, self._stage_message = -1, 0.0, "starting…"
        self._done = self._total = 0
        self._step = ""
        self._ended_at: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"genre-job-{kind}", daemon=True)

    # ------------------------------------------------------------------ the worker's side
    def start(self) -> "Job":
        self._thread.start()
        return self

    def progress(self, done: int, total: int, message: str = "") -> None:
        """genre's progress callback (any thread): stage messages when ``total`` is 0, else counted
        work within the stage. Raises ``Cancelled`` once ``cancel`` was asked, which stops the work."""
        if self._cancel.is_set():
            raise Cancelled(f"{self.label}: cancelled")
        with self._lock:
            if total <= 0:
                self._stage = min(self._stage + 1, self.n_stages - 1)
                self._stage_message, self._done, self._total, self._step = message or "working…", 0, 0, ""
                within = 0.0
            else:
                self._done, self._total, self._step = int(done), int(total), message
                within = min(max(done / total, 0.0), 1.0)
            whole = (max(self._stage, 0) + within) / self.n_stages
            self._fraction = max(self._fraction, min(whole, 1.0))

    def _run(self) -> None:
        try:
            result = self._work(self.progress)
        except Cancelled:
            outcome, error, result = CANCELLED, None, None
        except GenreError as exc:  # written for the person: shown as it is, on one line
            outcome, error, result = FAILED, one_line(exc), None
        except Exception as exc:  # noqa: BLE001 - a bug: logged with its traceback, the session goes on
            log.exception("background job %r failed", self.label)
            outcome, error, result = FAILED, f"unexpected error ({type(exc).__name__}): {one_line(exc)}", None
        else:
            outcome, error = DONE, None
        with self._lock:
            self.state, self.error, self.result = outcome, error, result
            self._ended_at = time.monotonic()
        self._ended.set()

    # ------------------------------------------------------------------ the script thread's side
    @property
    def running(self) -> bool:
        return not self._ended.is_set()

    def cancel(self) -> None:
        """Ask the work to stop at its next progress report (a fit in progress finishes first)."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work ended (tests; never on a page): True when it did within ``timeout``."""
        return self._ended.wait(timeout)

    def snapshot(self) -> Snapshot:
        with self._lock:
            end = self._ended_at if self._ended_at is not None else time.monotonic()
            elapsed, fraction = end - self.started, self._fraction
            eta = elapsed * (1 - fraction) / fraction if fraction >= 0.02 and elapsed >= 1 else None
            return Snapshot(self.label, self.state, fraction, self._stage_message, self._done, self._total,
                            self._step, elapsed, eta, self._cancel.is_set() and self.running, self.error)


def one_line(error: BaseException) -> str:
    """An error's message on one line (the first), as the sidebar and the notices show it."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def current() -> Job | None:
    """The session's job: running, or ended and not collected yet."""
    return st.session_state.get(KEY)


def start(kind: str, label: str, n_stages: int, work: Callable[[Callable], Any],
          install: Callable[[Any], str | Notice]) -> bool:
    """Start ``work`` in the background (``Job``); False, with a message on the page, while another
    job of this session still runs (one at a time)."""
    running = current()
    if running is not None and running.running:
        shown = running.snapshot()
        st.warning(f"**{md(shown.label)}** is still running ({shown.fraction:.0%}): wait for it, or cancel it "
                   f"in the sidebar, then try again. Nothing new was started.", icon=":material/hourglass_top:")
        return False
    collect()  # an ended job not collected yet: its result first
    st.session_state[KEY] = Job(kind, label, n_stages, work, install).start()
    return True


def cancel() -> None:
    """The sidebar's Cancel: ask the session's running job to stop."""
    job = current()
    if job is not None:
        job.cancel()


def collect() -> None:
    """Once the session's job ended: forget it, install its result (done) and leave the notice to
    show once under ``NOTICE`` (the page header pops it). The earlier state stays as it was when the
    job failed or was cancelled (nothing was installed)."""
    job = current()
    if job is None or job.running:
        return
    del st.session_state[KEY]
    st.session_state[NOTICE] = _outcome(job)


def _outcome(job: Job) -> Notice:
    shown = job.snapshot()
    took = f"{shown.elapsed:.1f} s"
    if job.state == CANCELLED:
        return "warning", f"{job.label} cancelled after {took}; nothing changed."
    if job.state == FAILED:
        error = job.error or "unknown error"
        return "error", f"{job.label} failed: {error}{'' if error.endswith('.') else '.'} Nothing changed."
    try:
        notice = job.install(job.result)
    except GenreError as exc:
        return "error", f"{job.label} finished but could not be kept: {one_line(exc)}"
    return ("success", notice) if isinstance(notice, str) else notice


def duration(seconds: float) -> str:
    """``seconds`` for a person: "8 s", "2 min 5 s"."""
    seconds = max(int(round(seconds)), 0)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60} s"


def time_left(seconds: float) -> str:
    """An estimate of the time left, no more precise than it is (the pace of stages varies)."""
    if seconds < 10:
        return "a few seconds left"
    if seconds < 57.5:
        return f"about {5 * round(seconds / 5):.0f} s left"
    return f"about {max(round(seconds / 60), 1):.0f} min left"


def counted(shown: Snapshot) -> str:
    """The current stage's counted work as the sidebar says it: its own message (without the stage
    it repeats) and the count when the message does not already give it; "" when it counts nothing."""
    if not shown.total:
        return ""
    step = shown.step.removeprefix(f"{shown.stage}: ") if shown.step else ""
    count = f"{shown.done:,} of {shown.total:,}"
    if not step:
        return count
    says_count = any(f"{n} of" in step or f"{n}/" in step for n in (shown.done, f"{shown.done:,}"))
    return step if says_count else f"{step} ({count})"
