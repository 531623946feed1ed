"""Home page: the intro, one-click sample data, and the checklist of where the session stands."""

from app_helpers import app, check  # noqa: F401  (fixture)
from ui.widgets import DONE, TODO


def test_home_explains_and_links_every_page(app):
    assert app.title[0].value == "GENRE"
    intro = app.markdown[0].value
    assert intro.count("\n") == 2 and "MovieLens" in intro and "python -m genre run" in intro
    links = app.get("page_link")
    assert [link.proto.label for link in links] == [
        "Data", "Encoders & LLM", "Train", "Embeddings", "Metrics", "Recommendations", "Configuration"]
    assert [link.proto.page for link in links][:3] == ["Data", "Encoders", "Train"]
    assert all(link.proto.icon == TODO for link in app.get("page_link"))
    assert app.session_state["dataset"] is None


def test_one_click_sample_data_updates_the_checklist(app):
    app.button(key="home_load_sample").click().run()
    check(app)
    dataset = app.session_state["dataset"]
    assert (dataset.n_users, dataset.n_items, dataset.preset) == (610, 9724, "movielens")
    icons = [link.proto.icon for link in app.get("page_link")]
    assert icons[:2] == [DONE, DONE] and icons[2] == TODO
    assert any("610 users" in c.value for c in app.caption)
    sidebar = " ".join(m.value for m in app.sidebar.markdown)
    assert "MovieLens sample" in sidebar and "not trained yet" in sidebar
