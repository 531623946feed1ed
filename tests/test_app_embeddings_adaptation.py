"""Embeddings page, "Before / after adaptation": a run trained with the real minilm-adapted (a few
seconds of steps on the sample's 150 most watched movies) shows the frozen and the adapted map side by
side with what changed; a run without adaptation does not offer the view."""

from __future__ import annotations

import pandas as pd

from app_helpers import SAMPLE, _csv, app, button, check, finish_job, plotly_specs, train  # noqa: F401
from genre.config import ModalityConfig

#: Step-bounded adaptation (the time budget is far away): seconds, the same result each time.
FAST = {"max_steps": 12, "batch_pairs": 32, "val_every": 4, "patience": 10, "budget_s": 120.0, "lr": 2e-3,
        "threads": 1}
N_ITEMS = 150


def upload_popular(at, n_users: int = 100) -> None:
    """The Data page: ratings of the first ``n_users`` users on the sample's ``N_ITEMS`` most rated
    movies, and those movies."""
    ratings = pd.read_csv(SAMPLE / "ratings.csv")
    ratings = ratings[ratings["userId"] <= n_users]
    ratings = ratings[ratings["movieId"].isin(ratings["movieId"].value_counts().index[:N_ITEMS])]
    movies = pd.read_csv(SAMPLE / "movies.csv")
    movies = movies[movies["movieId"].isin(ratings["movieId"])]
    at.switch_page("pages/1_Data.py").run()
    at.radio(key="data_source").set_value("Upload files").run()
    at.file_uploader(key="upload_interactions").upload("ratings.csv", _csv(ratings), "text/csv")
    at.file_uploader(key="upload_items").upload("movies.csv", _csv(movies), "text/csv")
    at.run()
    check(at)
    button(at, "Load data").click().run()
    check(at)


def embeddings(at, encoder: str, params: dict):
    """Train content on one text modality of ``encoder`` and open the Embeddings page."""
    upload_popular(at)
    at.session_state["config"].features.modalities = [
        ModalityConfig("text", ["title", "genres"], encoder, dict(params))]
    train(at, ("content",))
    at.switch_page("pages/4_Embeddings.py").run()
    check(at)
    return at


def test_an_adapted_run_shows_its_items_before_and_after(app):
    at = embeddings(app, "minilm-adapted", FAST)
    assert len(plotly_specs(at)) == 1  # the usual map first
    at.radio(key="emb_view").set_value("adaptation").run()
    check(at)
    job = at.session_state["job"]
    assert job.kind == "adaptation" and job.label == f"Before / after adaptation: {N_ITEMS:,} items"
    finish_job(at)
    assert any("ready on the Embeddings page" in s.value for s in at.success)
    maps = plotly_specs(at)
    assert len(maps) == 2
    titles = [m["layout"]["title"]["text"] for m in maps]
    assert "frozen (before)" in titles[0] and "adapted to this data (after)" in titles[1]
    counts = [sum(len(t["customdata"]) for t in m["data"]) for m in maps]
    assert counts == [N_ITEMS, N_ITEMS]
    assert [t["name"] for t in maps[0]["data"]] == [t["name"] for t in maps[1]["data"]]  # same colouring
    labels = [m.label for m in at.metric]
    assert labels == ["Next TRAIN item is closer than", "Next TEST item is closer than", "Nearest neighbours changed"]
    assert all(m.value.count("%") == 2 and "→" in m.value for m in at.metric[:2]) and at.metric[2].value.endswith("%")
    assert any(m.value.startswith("**What adaptation is.**") for m in at.markdown)
    assert any(c.value.startswith("Training: 12 steps") for c in at.caption)
    table = at.dataframe[0].value
    assert list(table.columns) == ["before (frozen)", "after (adapted)"] and len(table) == 10

    at.selectbox(key="adapt_color").set_value("cluster")
    at.text_input(key="adapt_search").set_value("star wars").run()  # no new job: the view is kept
    check(at)
    assert "job" not in at.session_state
    maps = plotly_specs(at)
    assert [t["name"] for t in maps[0]["data"]][-1] == "search matches"
    assert {t["name"] for t in maps[1]["data"]} - {"search matches"} <= {f"cluster {i}" for i in range(1, 9)}

    # UMAP: one layout per space, the adapted one first, then the frozen one, PCA meanwhile
    at.radio(key="adapt_method").set_value("umap").run()
    check(at)
    first = at.session_state["job"]
    assert first.kind == "umap"  # the adapted map first, PCA meanwhile
    assert any("one PCA projection of both spaces" in c.value for c in at.caption)
    assert first.wait(180)
    at.run()  # ... then the frozen one starts by itself
    check(at)
    assert at.session_state["job"] is not first and at.session_state["job"].kind == "umap"
    finish_job(at)
    assert any("one UMAP layout per space" in c.value for c in at.caption)
    assert [sum(len(t["customdata"]) for t in m["data"] if t["name"] != "search matches")
            for m in plotly_specs(at)] == [N_ITEMS, N_ITEMS]


def test_a_run_without_adaptation_does_not_offer_the_view(app):
    at = embeddings(app, "tfidf", {})
    assert "emb_view" not in [r.key for r in at.radio]
    assert plotly_specs(at)  # the usual map

