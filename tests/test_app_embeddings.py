"""Embeddings page: items (and users) on a 2-D map, coloured, searchable, with a user's history and picks overlaid."""

import pytest

from app_helpers import app, check, plotly_specs, train, upload_slice  # noqa: F401
from genre.run.spaces import POPULARITY_BANDS


@pytest.fixture
def map_page(app):
    upload_slice(app, n_users=60)
    train(app, ("popularity", "item_knn"), p_item_knn_k=50)
    app.switch_page("pages/4_Embeddings.py").run()
    check(app)
    return app


def test_every_item_is_on_the_map_coloured_by_genre(map_page):
    dataset = map_page.session_state["dataset"]
    spec = plotly_specs(map_page)[0]
    assert map_page.selectbox(key="emb_source").value == "content"
    first_genres = {gs[0] if len(gs) else "(no genre)" for gs in dataset.items["genres"]}
    items = [t for t in spec["data"] if t["name"] != "users"]
    assert {t["name"] for t in items} == first_genres
    assert sum(len(t["customdata"]) for t in items) == dataset.n_items
    users = next(t for t in spec["data"] if t["name"] == "users")  # content users: their history's profile
    assert len(users["customdata"]) == len(map_page.session_state["trained_run"].users_)
    assert spec["layout"]["title"]["text"].startswith(f"{dataset.n_items:,} items and ")


def test_search_and_user_overlay_add_traces(map_page):
    at = map_page
    at.selectbox(key="emb_color").set_value("popularity")
    at.text_input(key="emb_search").set_value("star wars")
    user = at.session_state["trained_run"].user_ids_evaluated[0]
    at.selectbox(key="emb_user").set_value(user).run()
    check(at)
    spec = plotly_specs(at)[0]
    names = [t["name"] for t in spec["data"]]
    assert set(names[:-5]) == {label for _, label in POPULARITY_BANDS}  # one trace per popularity band
    assert names[-5:] == ["search matches", "history", "recommended", "users", "chosen user"]
    assert spec["data"][-1]["customdata"] == [f"user {user}"]
    found = spec["data"][-5]["customdata"]
    assert found and all("star wars" in title.lower() for title in found)
    history = at.session_state["trained_run"].history(user)
    assert len(spec["data"][-4]["customdata"]) == len(history)
    assert len(spec["data"][-3]["customdata"]) == 10
    assert any(f"{len(found)} titles contain" in c.value for c in at.caption)


def test_genre_vectors_and_clusters(map_page):
    at = map_page
    at.selectbox(key="emb_source").set_value("genres")
    at.selectbox(key="emb_color").set_value("cluster").run()
    check(at)
    spec = plotly_specs(at)[0]
    assert {t["name"] for t in spec["data"]} == {f"cluster {i}" for i in range(1, 9)}
    assert "Genres (multi-hot)" in spec["layout"]["title"]["text"]
    assert any("no user vectors, so users are not drawn" in c.value for c in at.caption)
    assert at.toggle(key="emb_users").disabled


def test_collaborative_factors_put_users_and_items_in_one_projection(app):
    from genre.run.spaces import vector_spaces

    upload_slice(app, n_users=60)
    train(app, ("als",))
    app.switch_page("pages/4_Embeddings.py").run()
    check(app)
    trained_run = app.session_state["trained_run"]
    space = vector_spaces(trained_run)["als"]
    model = trained_run.models_["als"]
    assert space.items is model.item_factors_ and space.users is model.user_factors_
    user = trained_run.user_ids_evaluated[0]
    app.selectbox(key="emb_source").set_value("als")
    app.selectbox(key="emb_user").set_value(user).run()
    check(app)
    spec = plotly_specs(app)[0]
    traces = {t["name"]: t for t in spec["data"]}
    assert len(traces["users"]["customdata"]) == len(trained_run.users_)
    assert len(traces["recommended"]["customdata"]) == 10 and traces["chosen user"]["customdata"] == [f"user {user}"]
    assert any("Users and items share this space" in c.value for c in app.caption)


def test_items_without_genres_are_coloured_by_popularity_band(app):
    upload_slice(app, n_users=40, items=False)  # interactions only: no item has a genre
    train(app, ("popularity", "item_knn"), p_item_knn_k=50)
    app.switch_page("pages/4_Embeddings.py").run()
    check(app)
    assert app.selectbox(key="emb_color").options == ["popularity", "cluster"]
    names = {t["name"] for t in plotly_specs(app)[0]["data"]} - {"users"}
    assert names <= {label for _, label in POPULARITY_BANDS} and "(no genre)" not in names
