"""Recommendations page: a user's history and explained list, live like / dislike, CSV, free-text taste."""

import pytest

from app_helpers import app, button, check, finish_job, plain, plotly_specs, train, upload_slice  # noqa: F401
from ui.widgets import md


@pytest.fixture
def recs_page(app):
    upload_slice(app, n_users=60)
    train(app, ("popularity", "item_knn"), p_item_knn_k=50)
    app.switch_page("pages/6_Recommendations.py").run()
    check(app)
    return app


def _listed_titles(at) -> list[str]:
    rows = [m.value for m in at.markdown if m.value.startswith("**") and ". " in m.value.split("**")[1]]
    return [row.split("**")[1].split(". ", 1)[1] for row in rows]


def test_history_beside_explained_recommendations(recs_page):
    at = recs_page
    trained_run = at.session_state["trained_run"]
    user = at.selectbox(key="rec_user").value
    expected = trained_run.recommend(user, k=10)
    assert _listed_titles(at) == [md(t) for t in expected["title"]]
    history = at.dataframe[0].value
    assert len(history) == len(trained_run.history(user)) and "title" in history.columns
    why = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"].startswith("Why"))
    assert [t["name"] for t in why["data"]] == ["popularity", "item_knn"]
    download = at.get("download_button")[0]
    assert download.proto.label == "Download as CSV"


def test_like_and_dislike_update_the_list_live(recs_page):
    at = recs_page
    user = at.selectbox(key="rec_user").value
    trained_run = at.session_state["trained_run"]
    first = trained_run.recommend(user, k=10)
    liked, disliked = first["item_id"].iloc[0], first["item_id"].iloc[1]
    at.button(key=f"like_{user}_{liked}").click().run()
    check(at)
    at.button(key=f"dislike_{user}_{disliked}").click().run()
    check(at)
    assert at.session_state["feedback"][str(user)] == {"liked": [liked], "disliked": [disliked]}
    titles = _listed_titles(at)
    assert md(first["title"].iloc[0]) not in titles and md(first["title"].iloc[1]) not in titles
    assert len(titles) == 10
    assert any("1 liked, 1 disliked" in c.value for c in at.caption)
    at.button(key="clear_feedback").click().run()
    assert _listed_titles(at) == [md(t) for t in first["title"]]


@pytest.mark.slow
def test_a_taste_in_words_is_prepared_in_the_background_and_then_answered_at_once(app):
    upload_slice(app, n_users=5)  # few items: the sentence encoder embeds every title once
    train(app, ("popularity",))
    app.switch_page("pages/6_Recommendations.py").run()
    app.radio(key="rec_mode").set_value("A taste described in words").run()
    check(app)
    job = app.session_state["job"]  # started when the page switched to words, before any question
    assert job.kind == "what_if" and job.label.startswith("What-if box: encoding ")
    app.text_input(key="what_if_text").set_value("animated films for children")
    button(app, "Find matching items").click().run()
    check(app)
    if "job" in app.session_state:  # still preparing: the question is kept, and answered when it is collected
        assert any("as soon as the what-if box is ready" in plain(c.value) for c in app.caption)
        finish_job(app)
        assert any("your question is answered" in plain(s.value) for s in app.success)
    matches = app.dataframe[0].value
    assert len(matches) == 10 and (matches["similarity"].diff().dropna() <= 1e-9).all()
    assert matches["genres"].str.contains("Animation|Children").sum() >= 3
    trained_run = app.session_state["trained_run"]
    assert trained_run.what_if_ready

    app.text_input(key="what_if_text").set_value("dark crime thrillers")
    button(app, "Find matching items").click().run()  # ready: answered in this run, no job
    check(app)
    assert "job" not in app.session_state
    assert app.dataframe[0].value["title"].tolist() == trained_run.recommend_for_text("dark crime thrillers")[
        "title"].tolist()


def test_item_images_are_shown_beside_the_recommendations(app, tmp_path, monkeypatch):
    from app_helpers import button, upload_with_posters

    upload_with_posters(app, tmp_path)
    assert app.selectbox(key="map_image").value == "image"
    button(app, "Load data").click().run()
    check(app)
    train(app, ("popularity",))
    app.switch_page("pages/6_Recommendations.py").run()
    check(app)
    assert len(app.image) == 0  # the posters' folder is no data root: the server does not serve its files
    monkeypatch.setenv("GENRE_DATA_ROOTS", str(tmp_path))  # the operator allows it
    app.run()
    check(app)
    assert len(app.image) == 10
