"""Recommendations page: a user's history and explained list, live like / dislike, CSV, free-text taste."""

import pytest

from app_helpers import app, check, plotly_specs, train, upload_slice  # noqa: F401
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
def test_a_taste_in_words_finds_matching_items(app):
    upload_slice(app, n_users=15)  # few items: the sentence encoder embeds every title once
    train(app, ("popularity",))
    app.switch_page("pages/6_Recommendations.py").run()
    app.radio(key="rec_mode").set_value("A taste described in words").run()
    app.text_input(key="what_if_text").set_value("animated films for children")
    [b for b in app.button if b.label == "Find matching items"][0].click().run()
    check(app)
    matches = app.dataframe[0].value
    assert len(matches) == 10 and (matches["similarity"].diff().dropna() <= 1e-9).all()
    assert matches["genres"].str.contains("Animation|Children").sum() >= 3


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
