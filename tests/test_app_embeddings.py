"""Embeddings page: items on a 2-D map, coloured, searchable, with a user's history and picks overlaid."""

import pytest

from app_helpers import app, check, plotly_specs, train, upload_slice  # noqa: F401


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
    assert {t["name"] for t in spec["data"]} == first_genres
    assert sum(len(t["customdata"]) for t in spec["data"]) == dataset.n_items
    assert spec["layout"]["title"]["text"].startswith(f"{dataset.n_items:,} items")


def test_search_and_user_overlay_add_traces(map_page):
    at = map_page
    at.selectbox(key="emb_color").set_value("popularity")
    at.text_input(key="emb_search").set_value("star wars")
    user = at.session_state["experiment"].user_ids_evaluated[0]
    at.selectbox(key="emb_user").set_value(user).run()
    check(at)
    spec = plotly_specs(at)[0]
    names = [t["name"] for t in spec["data"]]
    assert names == ["items", "search matches", "history", "recommended"]
    found = spec["data"][1]["customdata"]
    assert found and all("star wars" in title.lower() for title in found)
    history = at.session_state["experiment"].history(user)
    assert len(spec["data"][2]["customdata"]) == len(history)
    assert len(spec["data"][3]["customdata"]) == 10
    assert any(f"{len(found)} titles contain" in c.value for c in at.caption)


def test_genre_vectors_and_clusters(map_page):
    at = map_page
    at.selectbox(key="emb_source").set_value("genres")
    at.selectbox(key="emb_color").set_value("cluster").run()
    check(at)
    spec = plotly_specs(at)[0]
    assert {t["name"] for t in spec["data"]} == {f"cluster {i}" for i in range(1, 9)}
    assert "Genres (multi-hot)" in spec["layout"]["title"]["text"]
