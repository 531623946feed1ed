"""Shared set-up of the AppTest page tests: an isolated app, a small sample slice, real widget steps.

Every test drives the app the way a person does — upload through the file uploader, toggle
algorithms, press Train — on the first users of the bundled MovieLens sample, so a test file
stays well under a minute or two on a busy machine.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
APP = str(ROOT / "app.py")
TIMEOUT = 180


@pytest.fixture
def app(tmp_path, monkeypatch) -> AppTest:
    """A fresh app with empty Streamlit caches and its own run registry and cache folders."""
    monkeypatch.setenv("GENRE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GENRE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    check(at)
    return at


@lru_cache(maxsize=4)
def sample_slice(n_users: int = 60) -> dict[str, bytes]:
    """ratings.csv, movies.csv and tags.csv of the first ``n_users`` users, as upload bytes."""
    ratings = pd.read_csv(SAMPLE / "ratings.csv")
    tags = pd.read_csv(SAMPLE / "tags.csv")
    keep = ratings[ratings["userId"] <= n_users]
    movies = pd.read_csv(SAMPLE / "movies.csv")
    movies = movies[movies["movieId"].isin(keep["movieId"])]
    return {"ratings.csv": _csv(keep), "movies.csv": _csv(movies),
            "tags.csv": _csv(tags[tags["userId"] <= n_users])}


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def plain(markdown: str) -> str:
    """What a reader sees of Markdown escaped by ``genre.safe_text.escape_markdown``."""
    import re

    from genre.safe_text import WORD_JOINER

    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")


def check(at: AppTest) -> None:
    """Fail with the page's own words when it shows an exception or an error box."""
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [plain(e.value) for e in at.error]


def button(at: AppTest, label: str):
    """The (form submit) button with this label."""
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[0]


def upload_slice(at: AppTest, n_users: int = 60, items: bool = True) -> AppTest:
    """Upload the sample slice on the Data page and press Load data."""
    files = sample_slice(n_users)
    at.switch_page("pages/1_Data.py").run()
    at.radio(key="data_source").set_value("Upload files").run()
    at.file_uploader(key="upload_interactions").upload("ratings.csv", files["ratings.csv"], "text/csv")
    if items:
        uploader = at.file_uploader(key="upload_items")
        uploader.upload("movies.csv", files["movies.csv"], "text/csv")
        uploader.upload("tags.csv", files["tags.csv"], "text/csv")
    at.run()
    check(at)
    button(at, "Load data").click().run()
    check(at)
    return at


def upload_with_posters(at: AppTest, folder: Path, n_users: int = 60) -> pd.DataFrame:
    """Data page: the slice's ratings and an item table whose ``image`` column names one poster PNG
    in ``folder`` (no data root unless GENRE_DATA_ROOTS says so); returns that item table."""
    from PIL import Image

    poster = folder / "poster.png"
    Image.new("RGB", (40, 60), (200, 30, 30)).save(poster)
    movies = pd.read_csv(io.BytesIO(sample_slice(n_users)["movies.csv"]))
    catalog = movies.rename(columns={"movieId": "item_id"}).assign(image=str(poster))
    at.switch_page("pages/1_Data.py").run()
    at.radio(key="data_source").set_value("Upload files").run()
    at.file_uploader(key="upload_interactions").upload("ratings.csv", sample_slice(n_users)["ratings.csv"], "text/csv")
    at.file_uploader(key="upload_items").upload("catalog.csv", catalog.to_csv(index=False).encode(), "text/csv").run()
    return catalog


def train(at: AppTest, algorithms: tuple[str, ...] = ("popularity", "item_knn"), **params) -> AppTest:
    """Switch exactly ``algorithms`` on in the Train form, set parameters, press Train."""
    at.switch_page("pages/3_Train.py").run()
    for toggle in at.toggle:
        if toggle.key and toggle.key.startswith("on_") and not toggle.disabled:
            toggle.set_value(toggle.key[3:] in algorithms)
    for key, value in params.items():
        at.number_input(key=key).set_value(value)
    button(at, "Train").click().run()
    check(at)
    finish_job(at)
    assert at.session_state["trained_run"] is not None
    return at


def finish_job(at: AppTest, timeout: float = TIMEOUT, errors_ok: bool = False) -> AppTest:
    """Wait for the session's background job (``ui.jobs``) to end, then rerun: the page collects it
    as the sidebar does in the browser (a run, a sweep, a tuning installed; its notice flashed).
    ``errors_ok``: the job is meant to fail (its error box is then the test's to check).

    A short job (a cache hit) may end, and be collected, within the run that started it: then there is
    no job left to wait for, and the caller's own assertions check what it did."""
    job = at.session_state["job"] if "job" in at.session_state else None
    if job is not None:
        assert job.wait(timeout), f"{job.label} still running after {timeout} s"
        at.run()
    if errors_ok:
        assert not at.exception, [e.message for e in at.exception]
    else:
        check(at)
    assert "job" not in at.session_state, "the ended job was not collected"
    return at


def plotly_specs(at: AppTest) -> list[dict]:
    """The figure JSON of every plotly chart on the page."""
    import json

    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def array(value) -> list:
    """A plotly JSON array as a list (plotly writes numpy arrays as base64 typed arrays)."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def hostile_texts(base: str) -> list[str]:
    """Markup a hostile uploader could put in any text field; every URL points at ``base``
    (``http://127.0.0.1:PORT``), so a test can count whether anything fetched it."""
    return [
        f"![img]({base}/markdown-image.png)",
        f"[link]({base}/markdown-link)",
        f"<img src={base}/html-image.png>",
        f'<a href="{base}/html-link">anchor</a>',
        "[js](javascript:alert(1))",
        f"bare {base}/bare-url and www.example.org",
        "**bold** :red[red] $x^2$ <b>b</b>",
    ]


def hostile_dataset(base: str, n_users: int = 30) -> dict[str, bytes]:
    """The sample slice with hostile markup in file names, column names, every user id, some item
    ids, every title and genre list, and an image column: {upload name: bytes} for the uploaders."""
    texts = hostile_texts(base)
    files = sample_slice(n_users)
    ratings = pd.read_csv(io.BytesIO(files["ratings.csv"]))
    movies = pd.read_csv(io.BytesIO(files["movies.csv"]))
    popular = ratings["movieId"].value_counts().index[: len(texts)]
    new_ids = {old: f"{text} #{i}" for i, (old, text) in enumerate(zip(popular, texts))}
    ratings["movieId"] = ratings["movieId"].map(lambda m: new_ids.get(m, m))
    ratings["userId"] = [f"{texts[u % len(texts)]} u{u}" for u in ratings["userId"]]
    ratings[f"<img src={base}/column.png>"] = "x"
    movies["movieId"] = movies["movieId"].map(lambda m: new_ids.get(m, m))
    movies["title"] = [f"{title} {texts[i % len(texts)]}" for i, title in enumerate(movies["title"])]
    movies["genres"] = [f"{texts[(i + 2) % len(texts)]}|{genres}" for i, genres in enumerate(movies["genres"])]
    movies["image"] = [f"{base}/poster-{i}.png" if i % 2 else "/etc/passwd" for i in range(len(movies))]
    movies[f"[col]({base}/items-column)"] = "y"
    return {f"![file]({base}/file-name.png) <img src={base}/f.png>.csv": _csv(ratings),
            f'items <a href="{base}/x">x</a>.csv': _csv(movies)}
