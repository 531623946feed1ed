"""Runs saved with their models: save from the Metrics page, reopen without retraining, serve lines."""

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import APP, TIMEOUT, app, button, check, plain, train, upload_slice  # noqa: F401
from genre.errors import GenreError
from genre.paths import saved_models_dir
from genre.runs import RunRegistry


def _top(at: AppTest) -> list[str]:
    """The Recommendations page's ranked titles, as shown."""
    return [plain(m.value).split("**")[1] for m in at.markdown if m.value.startswith("**") and ". " in m.value[:8]]


def _save_with_models(at: AppTest, name: str) -> int:
    at.switch_page("pages/5_Metrics.py").run()
    at.text_input(key="run_name").set_value(name)
    button(at, "Save with models").click().run()
    check(at)
    message = plain(at.success[0].value)
    assert "with its models" in message and "on disk" in message, message
    return at.session_state["saved_runs"][-1]["run_id"]


@pytest.fixture
def saved(app):
    upload_slice(app, n_users=60)
    train(app, ("popularity", "item_knn"), p_item_knn_k=50)
    app.switch_page("pages/6_Recommendations.py").run()
    check(app)
    before = _top(app)
    assert len(before) == 10
    assert any("save the run with models" in c.value.lower() for c in app.caption)  # not saved yet: a hint
    run_id = _save_with_models(app, "served")
    return app, run_id, before


def test_a_run_saved_with_models_reopens_without_refitting_and_serves(saved, monkeypatch):
    at, run_id, before = saved
    folder = RunRegistry(owner=at.session_state["owner"]).models_path(run_id)
    assert (folder / "manifest.json").is_file() and saved_models_dir().resolve() in folder.parents

    def no_refit(*args, **kwargs):
        raise AssertionError("a model was fitted again")

    monkeypatch.setattr("genre.algorithms.base.Recommender.fit", no_refit)
    for key in ("trained_run", "result", "trained_from", "dataset", "models_saved"):  # a session that lost it all
        at.session_state[key] = None
    at.switch_page("pages/5_Metrics.py").run()
    check(at)
    assert at.selectbox(key="open_run_id").value == run_id
    at.button(key="open_run").click().run()
    check(at)
    assert "no model was refitted" in plain(at.success[0].value)
    trained_run = at.session_state["trained_run"]
    assert trained_run is not None and at.session_state["dataset"] is trained_run.dataset_
    assert at.session_state["config"].algorithms == trained_run.config.algorithms

    at.switch_page("pages/6_Recommendations.py").run()
    check(at)
    assert _top(at) == before
    user = at.selectbox(key="rec_user").value
    lines = at.code[-1].value
    assert f"python -m genre serve {folder}" in lines
    assert f"curl -s 'http://127.0.0.1:8000/users/{user}/recommendations?k=10'" in lines
    assert not any("changed since it was saved" in c.value for c in at.caption)
    at.switch_page("pages/4_Embeddings.py").run()
    check(at)
    at.switch_page("pages/3_Train.py").run()
    at.slider(key="live_popularity").set_value(0.0).run()  # re-mixes the store: still no fit
    at.switch_page("pages/6_Recommendations.py").run()
    check(at)
    assert any("changed since it was saved" in c.value for c in at.caption)  # the folder serves the saved mix


def test_another_session_can_neither_list_nor_open_the_saved_models(saved, monkeypatch):
    at, run_id, _ = saved
    monkeypatch.setenv("GENRE_SHARE_RUNS", "1")  # even with runs shared, models stay their owner's
    other = AppTest.from_file(APP, default_timeout=TIMEOUT)
    other.run()
    upload_slice(other, n_users=30)
    train(other, ("popularity",))
    other.switch_page("pages/5_Metrics.py").run()
    other.toggle(key="runs_shared").set_value(True).run()
    check(other)
    assert other.session_state["owner"] != at.session_state["owner"]
    assert f"#{run_id} served (other session)" in other.multiselect(key="compare_runs").options  # compare only
    assert not [b for b in other.button if b.key == "open_run"]
    with pytest.raises(GenreError, match="only its owner"):
        RunRegistry(owner=other.session_state["owner"]).models_path(run_id)


def test_a_tampered_folder_is_refused_in_one_line(saved):
    at, run_id, _ = saved
    folder = RunRegistry(owner=at.session_state["owner"]).models_path(run_id)
    with open(folder / "config.yaml", "a", encoding="utf-8") as f:
        f.write("\n# edited\n")
    at.session_state["trained_run"] = None
    at.switch_page("pages/5_Metrics.py").run()
    at.button(key="open_run").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "changed after saving" in plain(at.error[0].value)
    assert "\n" not in plain(at.error[0].value).strip()


#: ``python -m genre serve`` in a fresh process whose every ``fit`` raises: the served run is loaded, never refitted.
_SERVE_WITHOUT_FIT = (
    "import sys\n"
    "import genre.algorithms.base as base\n"
    "def refit(*args, **kwargs):\n"
    "    raise SystemExit('a model was fitted again')\n"
    "base.Recommender.fit = refit\n"
    "from genre.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n")


def test_a_run_saved_from_the_app_is_served_by_a_fresh_process_with_the_same_top10(saved):
    """The issue's done-when: trained in the app, saved with models, served by a real uvicorn process that
    never fits, and a real HTTP client gets the session's top-10 for every user (50 of the slice's 60)."""
    import json
    import sys
    import time
    import urllib.request

    from servers import free_port, process_server

    at, run_id, _ = saved
    folder = RunRegistry(owner=at.session_state["owner"]).models_path(run_id)
    trained_run = at.session_state["trained_run"]
    port = free_port()
    started = time.perf_counter()
    command = [sys.executable, "-c", _SERVE_WITHOUT_FIT, "serve", str(folder), "--port", str(port)]
    with process_server(command, f"http://127.0.0.1:{port}/health", timeout=120,
                        env={"OPENBLAS_NUM_THREADS": "1", "GENRE_API_KEY": ""}):
        print(f"served after {time.perf_counter() - started:.1f} s")
        users = trained_run.dataset_.user_ids[:50]
        for user in users:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/users/{user}/recommendations?k=10",
                                        timeout=60) as reply:
                served = [item["item_id"] for item in json.loads(reply.read())["items"]]
            assert served == trained_run.recommend(user, k=10, explain=False)["item_id"].tolist(), user
    assert len(users) == 50
