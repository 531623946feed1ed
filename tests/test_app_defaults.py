"""Defaults that fit the data, in the app: a play-count log without timestamps reads as plays on log
axes with no time words (Data page), and a catalog beyond EASE's max_items loads the default mix
without EASE and says so (Data page, Train page's switches and presets)."""

import io
import re

import numpy as np
import pandas as pd

from app_helpers import app, button, check, plain, plotly_specs  # noqa: F401

#: Words that claim an order in time: none may show for data without timestamps.
TIME_WORDS = re.compile(r"\b(latest|newest|oldest|later|earlier|recent|over time|per month|activity)\b", re.I)


def _upload(at, name: str, frame: pd.DataFrame):
    """Upload ``frame`` as the interactions on the Data page and press Load data."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    at.switch_page("pages/1_Data.py").run()
    at.radio(key="data_source").set_value("Upload files").run()
    at.file_uploader(key="upload_interactions").upload(name, buffer.getvalue().encode(), "text/csv").run()
    check(at)
    button(at, "Load data").click().run()
    check(at)
    return at


def _plays(n_users: int = 80, n_artists: int = 300) -> pd.DataFrame:
    """A listening log: user, artist, play count (heavy-tailed, up to about 350k), no timestamps."""
    rng = np.random.default_rng(7)
    rows = [(u, a) for u in range(n_users) for a in rng.choice(n_artists, 15, replace=False)]
    plays = np.minimum((rng.pareto(0.8, len(rows)) * 20 + 1).astype(int), 350_000)
    plays[0] = 350_000
    return pd.DataFrame({"user_id": [f"listener{u}" for u, _ in rows], "artist_id": [a for _, a in rows],
                         "plays": plays})


def _texts(at) -> list[str]:
    """Every text the page shows a reader: prose, labels, help, tab and chart titles, axis titles."""
    texts = [plain(e.value) for kind in ("title", "subheader", "markdown", "caption", "info", "success", "warning")
             for e in getattr(at, kind)]
    texts += [w.label for w in [*at.number_input, *at.checkbox, *at.radio, *at.selectbox]]
    texts += [w.help or "" for w in [*at.number_input, *at.checkbox]]
    texts += [t.label for t in at.tabs]
    for spec in plotly_specs(at):
        layout = spec["layout"]
        texts += [layout["title"]["text"], *(layout.get(axis, {}).get("title", {}).get("text", "")
                                             for axis in ("xaxis", "yaxis"))]
    return texts


def test_a_play_count_log_without_timestamps_reads_as_plays_on_log_axes_with_no_time_words(app):
    _upload(app, "listens.csv", _plays())
    dataset = app.session_state["dataset"]
    assert dataset.value_column == "plays" and dataset.interactions["timestamp"].nunique() == 1
    specs = {spec["layout"]["title"]["text"]: spec["layout"] for spec in plotly_specs(app)}
    assert "Plays per user–item pair" in specs and "Rating distribution" not in specs
    chart = specs["Plays per user–item pair"]
    assert chart["xaxis"]["type"] == "log" and chart["yaxis"]["type"] == "log"
    assert "plays" in chart["xaxis"]["title"]["text"] and chart["yaxis"]["range"][0] < 0
    assert app.number_input(key="clean_min_rating").label.startswith("Keep plays")
    assert any("plays" in str(c) for frame in app.dataframe for c in frame.value.columns)
    texts = _texts(app)
    rated = [t for t in texts if "rating" in t.lower() and not t.startswith(("Guess:", "• columns of", "rating or count"))]
    assert rated == []  # only the column guess says which column was read as the value, and what it is
    timed = [t for t in texts if TIME_WORDS.search(t)]
    assert timed == []


def test_a_ratings_upload_still_reads_as_ratings(app):
    frame = _plays().assign(plays=lambda f: (f["plays"] % 5 + 1).astype(float)).rename(columns={"plays": "rating"})
    _upload(app, "ratings.csv", frame)
    titles = [spec["layout"]["title"]["text"] for spec in plotly_specs(app)]
    assert "Rating distribution" in titles and not any(t.startswith("Plays") for t in titles)


def test_the_default_mix_on_a_25k_item_catalog_leaves_ease_out_and_says_why(app):
    n_items = 25_000
    items = np.arange(2 * n_items) % n_items
    _upload(app, "big.csv", pd.DataFrame({"user": np.arange(2 * n_items) * 7 % 400, "item": items, "rating": 1 + items % 5}))
    assert app.session_state["dataset"].n_items == n_items
    notes = [plain(i.value) for i in app.info if "ease left out" in plain(i.value)]
    assert len(notes) == 1 and "max_items of 20,000" in notes[0] and "raise max_items to 25,000" in notes[0]
    config = app.session_state["config"]
    assert not next(a for a in config.algorithms if a.name == "ease").enabled
    assert {a.name for a in config.algorithms if a.enabled} >= {"item_knn", "als", "content"}

    app.switch_page("pages/3_Train.py").run()
    check(app)
    assert not app.toggle(key="on_ease").value and app.toggle(key="on_item_knn").value
    assert app.number_input(key="p_ease_max_items").value == 20_000  # the limit the note names is a field
    app.selectbox(key="preset_pick").set_value("collaborative only")
    button(app, "Load preset").click().run()
    check(app)
    assert not app.toggle(key="on_ease").value
    assert any("ease left out" in n for n in app.session_state["setup_notes"])
