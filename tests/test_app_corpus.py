"""The hostile-input corpus in the app (issue 7), through the Data page's file uploaders.

Bad uploads end in an ``st.error`` carrying the library's message, never an exception; the
page stays usable and the data loaded before is still loaded. Titles and file names full of
HTML, JavaScript and Markdown are shown as text. Two sessions never see each other's data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from streamlit.testing.v1 import AppTest

from app_helpers import APP, TIMEOUT, app, button, check, plain, sample_slice, upload_slice  # noqa: F401

CORPUS = Path(__file__).parent / "corpus"
sys.path.insert(0, str(CORPUS))
from make_corpus import make_file  # noqa: E402

CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
BAD_INTERACTIONS = [c for c in CASES if c.get("app") == "interactions"]
HTML_CASE = next(c for c in CASES if c.get("app") == "items")  # interactions + an item table of HTML titles
MIME = {"csv": "text/csv", "parquet": "application/octet-stream", "jsonl": "application/jsonl"}
HOSTILE = ("<script", "<img", "<iframe", "javascript:", "onerror")


def _bytes(name: str, folder: Path) -> bytes:
    committed = CORPUS / "files" / name
    return committed.read_bytes() if committed.exists() else make_file(name, folder).read_bytes()


def _upload(at: AppTest, key: str, name: str, data: bytes) -> None:
    at.file_uploader(key=key).upload(name, data, MIME.get(name.rsplit(".", 1)[-1], "text/plain"))


def _elements(node):
    """Every element under ``node`` (main area and sidebar), depth first."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _elements(child)


def _shown_text(at: AppTest) -> list[tuple[object, str]]:
    """(element, text) of every element that renders text from a proto body or value."""
    shown = []
    for root in (at.main, at.sidebar):
        for element in _elements(root):
            proto = getattr(element, "proto", None)
            body = getattr(proto, "body", None)
            if isinstance(body, str) and body:
                shown.append((element, body))
    return shown


def _assert_no_raw_html(at: AppTest) -> None:
    """No user text reaches HTML: nothing is marked unsafe_allow_html, and no st.html shows it."""
    assert not [e for e in at.get("html") if any(h in str(e.proto).lower() for h in HOSTILE)]
    for element, body in _shown_text(at):
        if getattr(element.proto, "allow_html", False):
            assert not any(h in body.lower() for h in HOSTILE), body


def test_bad_uploads_show_an_error_and_keep_the_data_loaded_before(app, tmp_path):
    upload_slice(app, n_users=20, items=False)
    before = app.session_state["dataset"]
    assert before.n_users == 20
    assert len(BAD_INTERACTIONS) >= 8
    for case in BAD_INTERACTIONS:
        app.file_uploader(key="upload_interactions").set_value(None)  # remove the last file (its "x")
        app.run()
        _upload(app, "upload_interactions", case["file"], _bytes(case["file"], tmp_path))
        app.run()
        assert not app.exception, (case["id"], [e.message for e in app.exception])
        button(app, "Load data").click().run()
        assert not app.exception, (case["id"], [e.message for e in app.exception])
        errors = [plain(e.value) for e in app.error]
        assert any(case["message"].lower() in e.lower() for e in errors), (case["id"], errors)
        assert app.session_state["dataset"] is before, case["id"]  # the earlier data is still loaded
        assert any("Loaded:" in s.value for s in app.subheader), case["id"]  # and still shown
    # the page is still usable: a good file loads
    _upload(app, "upload_interactions", "ratings.csv", sample_slice(10)["ratings.csv"])
    app.run()
    button(app, "Load data").click().run()
    check(app)
    assert app.session_state["dataset"].n_users == 10


def test_a_good_file_after_a_bad_one_gets_its_own_column_guesses(app, tmp_path):
    app.switch_page("pages/1_Data.py").run()
    app.radio(key="data_source").set_value("Upload files").run()
    _upload(app, "upload_interactions", "no_header.csv", _bytes("no_header.csv", tmp_path))
    app.run()
    _upload(app, "upload_interactions", "ratings.csv", sample_slice(10)["ratings.csv"])
    app.run()
    assert app.selectbox(key="map_user").value == "userId"
    button(app, "Load data").click().run()
    check(app)


def test_a_very_long_file_name_is_no_traceback(app):
    app.switch_page("pages/1_Data.py").run()
    app.radio(key="data_source").set_value("Upload files").run()
    _upload(app, "upload_interactions", "r" * 300 + ".csv", sample_slice(10)["ratings.csv"])
    app.run()
    button(app, "Load data").click().run()
    check(app)
    assert app.session_state["dataset"].n_users == 10
    stored = Path(app.session_state["config"].data.source)
    assert stored.is_file() and stored.suffix == ".csv" and len(stored.name) < 100


def test_html_and_markdown_in_titles_and_file_names_show_as_text(app):
    from ui.widgets import md

    hostile_name = "<img src=x onerror=alert(1)>**x**.csv"
    app.switch_page("pages/1_Data.py").run()
    app.radio(key="data_source").set_value("Upload files").run()
    items = HTML_CASE["options"]["items"]
    _upload(app, "upload_interactions", hostile_name, (CORPUS / "files" / HTML_CASE["file"]).read_bytes())
    _upload(app, "upload_items", items, (CORPUS / "files" / items).read_bytes())
    app.run()
    button(app, "Load data").click().run()
    check(app)
    titles = app.session_state["dataset"].items["title"].tolist()
    assert HTML_CASE["message"] in titles  # stored verbatim
    assert "**Bold** [click](javascript:alert(1)) $x^2$ :red[red]" in titles
    _assert_no_raw_html(app)
    shown = [body for _, body in _shown_text(app)]
    assert any(md(hostile_name) in body for body in shown)  # the name, escaped for Markdown
    assert not any(hostile_name in body for body in shown)  # never as raw Markdown
    for page in ("app.py", "pages/2_Encoders.py"):  # the sidebar and Home show the dataset name too
        app.switch_page(page).run()
        check(app)
        _assert_no_raw_html(app)
        assert not any(hostile_name in body for _, body in _shown_text(app))


def test_two_sessions_never_see_each_others_data(app):
    other = AppTest.from_file(APP, default_timeout=TIMEOUT)
    other.run()
    check(other)
    upload_slice(app, n_users=20, items=False)
    assert other.session_state["dataset"] is None
    other.switch_page("pages/1_Data.py").run()
    assert other.session_state["dataset"] is None and not other.subheader  # nothing loaded there
    assert other.info and "Nothing loaded yet" in other.info[0].value
    _ = other.radio(key="data_source").set_value("Upload files").run()
    _upload(other, "upload_interactions", "clicks.csv", sample_slice(10)["ratings.csv"])
    other.run()
    button(other, "Load data").click().run()
    check(other)
    app.run()
    mine, theirs = app.session_state["dataset"], other.session_state["dataset"]
    assert (mine.n_users, mine.name) == (20, "ratings.csv")
    assert (theirs.n_users, theirs.name) == (10, "clicks.csv")
    assert app.session_state["config"].data.source != other.session_state["config"].data.source
    assert not any("clicks.csv" in body for _, body in _shown_text(app))

