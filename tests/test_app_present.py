"""Present page: persona picker, item cards, two mixes side by side, the shareable URL and its owner check."""

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import APP, TIMEOUT, app, button, check, plain, train, upload_slice  # noqa: F401
from genre.personas import shared_items
from genre.run import TrainedRun
from genre.runs import RunRegistry
from ui.widgets import md

PAGE = "pages/8_Present.py"


def _titles(at: AppTest) -> list[str]:
    """The cards' titles as shown, in page order."""
    rows = [m.value for m in at.markdown if m.value.startswith("**") and ". " in m.value.split("**")[1][:5]]
    return [row.split("**")[1].split(". ", 1)[1] for row in rows]


def _save_with_models(at: AppTest, name: str) -> int:
    at.switch_page("pages/5_Metrics.py").run()
    at.text_input(key="run_name").set_value(name)
    button(at, "Save with models").click().run()
    check(at)
    return at.session_state["saved_runs"][-1]["run_id"]


@pytest.fixture
def present(app):
    upload_slice(app, n_users=60)
    train(app, ("popularity", "item_knn"), p_item_knn_k=50)
    app.switch_page(PAGE).run()
    check(app)
    return app


def test_the_persona_picker_lists_summaries_and_searches(present):
    at = present
    picker = at.selectbox(key="present_user")
    labels = picker.options
    assert len(labels) == 50 and all(" interactions · " in label and " · active " in label for label in labels)
    counts = [int(label.split(" · ")[1].split()[0].replace(",", "")) for label in labels]
    assert counts == sorted(counts, reverse=True)  # most active first
    user = picker.value
    assert labels[0].startswith(f"{user} · ") and any(f"User {user}" == plain(s.value) for s in at.subheader)
    at.text_input(key="present_search").set_value("Horror").run()
    check(at)
    found = at.selectbox(key="present_user").options
    assert found[0].startswith(f"{user} · ")  # the chosen user stays listed
    assert len(found) > 1 and all("Horror" in label.split(" · ")[2] for label in found[1:])
    at.selectbox(key="present_user").set_value(found[1].split(" · ")[0]).run()
    check(at)
    assert at.query_params["user"] == found[1].split(" · ")[0]


def test_cards_render_for_a_trained_run(present):
    at = present
    trained_run = at.session_state["trained_run"]
    user = at.selectbox(key="present_user").value
    expected = trained_run.recommend(user, k=10)
    assert _titles(at) == [md(t) for t in expected["title"]]
    shown = [m.value for m in at.markdown]
    assert sum("watched later]" in v for v in shown) == int(expected["held_out"].sum())
    assert sum(v.startswith(("Because they liked :violet-badge[", "Matches their taste for")) for v in shown) >= 5
    assert not at.slider and not any(b.label == "Train" for b in at.button)  # no knobs on this page
    assert at.query_params["run"] == "current" and at.query_params["user"] == str(user)
    assert "item_knn:" in at.query_params["mix"]
    at.toggle(key="present_view").set_value(True).run()  # presenting: the controls go away
    check(at)
    assert not at.selectbox(key="present_user").disabled and at.query_params["view"] == "present"
    assert [s.key for s in at.selectbox] == ["present_user"] and _titles(at) == [md(t) for t in expected["title"]]
    button(at, "Show the controls").click().run()
    assert {s.key for s in at.selectbox} == {"present_run", "present_vs", "present_user"}


def test_side_by_side_marks_the_overlap(present):
    at = present
    run_id = _save_with_models(at, "saved mix")
    user = at.session_state["trained_run"].user_ids_evaluated[3]
    at.query_params.update({"run": "current", "mix": "popularity:0.8,item_knn:0.2", "vs": str(run_id),
                            "user": str(user)})
    at.switch_page(PAGE).run()
    check(at)
    current = at.session_state["trained_run"]
    assert current.weights_ == {"popularity": 0.8, "item_knn": 0.2}
    saved = TrainedRun.load(RunRegistry(owner=at.session_state["owner"]).models_path(run_id))
    left, right = current.recommend(user, k=10), saved.recommend(user, k=10)
    both = shared_items(left["item_id"], right["item_id"])
    assert 0 < len(both) < 10
    assert any(m.value.startswith(f"#### {len(both)} of 10 recommendations in both lists") for m in at.markdown)
    rows = [m.value for m in at.markdown if m.value.startswith("**") and ". " in m.value.split("**")[1][:5]]
    assert _titles(at) == [md(t) for t in [*left["title"], *right["title"]]]  # run A left, run B right
    marked = [title for title, row in zip(_titles(at), rows) if "in both]" in row]
    titles = dict(zip(left["item_id"], left["title"]))
    assert marked == [md(titles[i]) for i in both] + [md(t) for i, t in zip(right["item_id"], right["title"])
                                                      if i in set(both)]


def _session(monkeypatch, owner: str) -> AppTest:
    monkeypatch.setenv("GENRE_USER", owner)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return at


def test_a_link_reopens_the_same_user_and_mix_in_another_session(app, monkeypatch):
    first = _session(monkeypatch, "alice")
    upload_slice(first, n_users=60)
    train(first, ("popularity", "item_knn"), p_item_knn_k=50)
    run_id = _save_with_models(first, "for the product team")
    user = first.session_state["trained_run"].user_ids_evaluated[5]
    first.query_params.update({"run": str(run_id), "user": str(user), "mix": "popularity:0.9,item_knn:0.1"})
    first.switch_page(PAGE).run()
    check(first)
    link = dict(first.query_params)
    assert link["run"] == str(run_id) and link["user"] == str(user) and "popularity:0.9" in link["mix"]
    shown = _titles(first)

    second = _session(monkeypatch, "alice")  # another browser session of the same owner
    second.query_params.update({**link, "view": "present"})
    second.switch_page(PAGE).run()
    check(second)
    assert second.session_state["trained_run"] is None  # nothing trained here: the saved run is shown
    assert second.selectbox(key="present_user").value == str(user)
    assert [s.key for s in second.selectbox] == ["present_user"]  # read-only: no run pickers, no toggle
    opened = second.session_state["_present_runs"][run_id]
    assert opened.weights_ == {"popularity": 0.9, "item_knn": 0.1}
    assert _titles(second) == shown and len(shown) == 10


def test_another_owners_run_in_the_link_is_refused_in_one_line(app, monkeypatch):
    first = _session(monkeypatch, "alice")
    upload_slice(first, n_users=30)
    train(first, ("popularity",))
    run_id = _save_with_models(first, "private")
    other = _session(monkeypatch, "mallory")
    other.query_params.update({"run": str(run_id), "user": "1", "view": "present"})
    other.switch_page(PAGE).run()
    assert not other.exception
    assert len(other.error) == 1 and "\n" not in other.error[0].value
    assert f"run {run_id} is not opened" in plain(other.error[0].value) and "another session" in plain(other.error[0].value)
    assert not _titles(other) and not other.session_state["_present_runs"]  # nothing of alice's was loaded


def test_hostile_titles_ids_and_posters_render_as_text(app):
    from test_app_hostile import _upload_hostile, assert_inert

    _upload_hostile(app)
    train(app, ("popularity", "item_knn"))
    app.switch_page(PAGE).run()
    check(app)
    assert any("<img" in label for label in app.selectbox(key="present_user").options)  # options are plain text
    hostile = next(str(u) for u in app.session_state["dataset"].user_ids if "<img" in str(u))
    app.selectbox(key="present_user").set_value(hostile).run()
    check(app)
    assert_inert(app, "present")
    assert len(_titles(app)) == 10 and not app.get("imgs")  # remote posters and /etc/passwd never shown
    app.text_input(key="present_search").set_value("[link](").run()
    assert_inert(app, "present, searched")


def test_posters_from_the_data_roots_and_llm_descriptions_on_the_cards(app, tmp_path, monkeypatch):
    import pandas as pd

    from app_helpers import upload_with_posters

    catalog = upload_with_posters(app, tmp_path)
    button(app, "Load data").click().run()
    train(app, ("popularity",))
    app.session_state["enrichment"] = pd.DataFrame({"item_id": catalog["item_id"],
                                                    "text": "Written by a model. [x](http://evil)"})
    app.switch_page(PAGE).run()
    check(app)
    assert len(app.image) == 0  # the posters' folder is no data root: nothing is served from it
    assert sum(m.value == ":gray[" + md("Written by a model. [x](http://evil)") + "]" for m in app.markdown) == 10
    monkeypatch.setenv("GENRE_DATA_ROOTS", str(tmp_path))  # the operator allows it
    app.run()
    check(app)
    assert len(app.image) == 10
    app.text_input(key="present_search").set_value("no such genre or user").run()
    check(app)
    assert len(app.selectbox(key="present_user").options) == 1  # only the chosen user stays


def test_a_malformed_link_is_refused_in_one_line_each(present):
    at = present
    at.query_params.update({"run": "9" * 40, "user": "<img src=x> nobody", "mix": "popularity:nan"})
    at.switch_page(PAGE).run()
    assert not at.exception and len(at.error) == 1 and "is not a saved run id" in plain(at.error[0].value)
    assert len(at.warning) == 1 and "is not in this run's data" in plain(at.warning[0].value)
    assert _titles(at)  # the current run is shown instead
    at.query_params.clear()
    at.query_params.update({"run": "current", "mix": "popularity:-1,item_knn:1"})
    at.run()
    assert len(at.error) == 1 and "weights ≥ 0" in plain(at.error[0].value) and _titles(at)
