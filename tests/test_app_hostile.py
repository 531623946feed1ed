"""Safe to host (issue 10), through AppTest: hostile data, configs and numbers on every page.

A hostile corpus — Markdown images and links, HTML, ``javascript:`` and bare URLs in file
names, column names, ids, titles, genres, run names and error rows; pasted paths; YAML bombs;
huge and non-numeric numbers — is driven through every page. Whatever is shown is text: no
rendered Markdown keeps an unescaped ``![``, ``](``, ``<a ``, ``<img`` or a live URL, no Plotly
text carries a tag, no exception element appears, and the session's data and training survive.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from app_helpers import (APP, TIMEOUT, app, button, check, finish_job, hostile_dataset, hostile_texts,  # noqa: F401
                         plain, plotly_specs, train)

BASE = "http://127.0.0.1:9"  # the discard port: nothing may ever try it
CORPUS = Path(__file__).parent / "corpus"
sys.path.insert(0, str(CORPUS))
from make_corpus import make_file  # noqa: E402

CONFIG_CASES = [c for c in yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
                if c["entry"] in ("load_config", "import_config") and c["expect"] != "ok" and not c.get("xfail")]
#: Proto fields Streamlit renders as Markdown: element bodies, widget and block labels, tooltips.
MARKDOWN_FIELDS = {"body", "label", "help"}
MARKUP = ("![", "](", "<a ", "<img", "<b>", ":red[", "javascript:")
PAGES = ("app.py", "pages/1_Data.py", "pages/2_Encoders.py", "pages/3_Train.py", "pages/4_Embeddings.py",
         "pages/5_Metrics.py", "pages/6_Recommendations.py", "pages/7_Configuration.py")


# ---------------------------------------------------------------------------- what the page shows
def _nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def _proto_strings(message):
    """(field, text) of every Markdown-rendered string field in a proto, nested messages included."""
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for item in values:
            if field.type == field.TYPE_STRING and field.name in MARKDOWN_FIELDS:
                yield field.name, item
            elif field.type == field.TYPE_MESSAGE:
                yield from _proto_strings(item)


def _markdown(at: AppTest) -> list[tuple[str, str]]:
    shown = []
    for root in (at.main, at.sidebar):
        for node in _nodes(root):
            proto = getattr(node, "proto", None)
            if proto is not None and hasattr(proto, "ListFields"):
                shown += _proto_strings(proto)
    return shown


def _json_strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _json_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _json_strings(value)


def assert_inert(at: AppTest, where: str) -> None:
    """No exception, and nothing from data renders as markup, a link or a request."""
    assert not at.exception, (where, [e.message for e in at.exception])
    for field, text in _markdown(at):
        unescaped = re.sub(r"\\.", "", text, flags=re.DOTALL)  # what Markdown would still parse
        assert not any(m in unescaped for m in MARKUP), (where, field, text)
        assert BASE not in re.sub(r"\\(.)", r"\1", text), (where, field, text)  # URLs broken for auto-linking
    for spec in plotly_specs(at):
        for text in _json_strings(spec):
            own = text.replace("<extra></extra>", "")
            assert "<" not in own and BASE not in text, (where, text)
    for image in at.get("imgs"):
        assert BASE not in str(image.proto) and "/etc/" not in str(image.proto), (where, image.proto)


def _upload_hostile(at: AppTest) -> None:
    (inter_name, inter), (items_name, items) = hostile_dataset(BASE).items()
    at.switch_page("pages/1_Data.py").run()
    at.radio(key="data_source").set_value("Upload files").run()
    at.file_uploader(key="upload_interactions").upload(inter_name, inter, "text/csv")
    at.file_uploader(key="upload_items").upload(items_name, items, "text/csv")
    at.run()
    assert_inert(at, "data page, files chosen")
    button(at, "Load data").click().run()
    check(at)
    assert_inert(at, "data page, loaded")


def _hostile_option(widget):
    """The first option of a select widget that carries hostile text, else its first option."""
    return next((o for o in widget.options if "[link]" in str(o) or "<img" in str(o)), widget.options[0])


# ---------------------------------------------------------------------------- tests
def test_hostile_data_renders_as_text_on_every_page(app):
    _upload_hostile(app)
    dataset = app.session_state["dataset"]
    texts = hostile_texts(BASE)
    assert any(texts[2] in t for t in dataset.items["title"])  # stored verbatim, only its display is escaped
    train(app, ("popularity", "item_knn", "genre_pref"))
    assert_inert(app, "train")

    app.switch_page("pages/4_Embeddings.py").run()
    app.text_input(key="emb_search").set_value("<img")
    app.selectbox(key="emb_user").set_value(_hostile_option(app.selectbox(key="emb_user"))).run()
    assert_inert(app, "embeddings")
    legend = {t.get("name") for spec in plotly_specs(app) for t in spec["data"]}
    assert any("&lt;img" in str(name) for name in legend)  # hostile genres are legend entries, escaped

    app.switch_page("pages/5_Metrics.py").run()
    app.text_input(key="run_name").set_value(texts[0] + " " + texts[3])
    button(app, "Save this run").click().run()
    check(app)
    assert_inert(app, "metrics with a hostile run name")
    compared = next(s for s in plotly_specs(app) if s["layout"]["title"]["text"].endswith("by run"))
    assert "&lt;a href" in compared["data"][0]["x"][0]

    app.switch_page("pages/6_Recommendations.py").run()
    app.selectbox(key="rec_user").set_value(_hostile_option(app.selectbox(key="rec_user"))).run()
    check(app)
    assert_inert(app, "recommendations")
    assert any(BASE.split("//")[1] in plain(text) for _, text in _markdown(app))  # hostile titles listed, as text
    assert not app.get("imgs")  # remote posters and /etc/passwd are never shown

    for page in PAGES:
        app.switch_page(page).run()
        assert_inert(app, page)
    assert app.session_state["dataset"] is dataset


def test_error_rows_quoting_hostile_text_are_escaped(app):
    app.switch_page("pages/1_Data.py").run()
    app.radio(key="data_source").set_value("Upload files").run()
    bad = f'user,item,rating\n1,2,"![r]({BASE}/rating.png)"\n2,3,4\n'.encode()
    app.file_uploader(key="upload_interactions").upload(f"<img src={BASE}/e.png>.csv", bad, "text/csv")
    app.run()
    button(app, "Load data").click().run()
    assert_inert(app, "error row")
    assert len(app.error) == 1 and "not a number" in plain(app.error[0].value)
    assert f"![r]({BASE}/rating.png)" in plain(app.error[0].value)  # quoted, shown as text


@pytest.fixture
def trained(app):
    from app_helpers import upload_slice

    upload_slice(app, n_users=30, items=False)
    train(app, ("popularity", "item_knn"))
    return app


def _paste(at: AppTest, text: str) -> list[str]:
    at.switch_page("pages/7_Configuration.py").run()
    at.text_area(key="config_text").set_value(text)
    button(at, "Apply configuration").click().run()
    assert_inert(at, text[:60])
    return [plain(e.value) for e in at.error]


def test_configuration_import_refuses_paths_bombs_and_bad_numbers(trained, tmp_path):
    at = trained
    dataset, trained_run = at.session_state["dataset"], at.session_state["trained_run"]
    config = at.session_state["config"]
    secret = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()[0]
    for pasted in ("/etc/passwd", "../../../../etc/passwd", "~/.ssh/id_rsa"):  # a path is text, never opened
        errors = _paste(at, pasted)
        assert len(errors) == 1 and "must be a YAML mapping" in errors[0] and secret not in errors[0], errors
    assert len(CONFIG_CASES) >= 20
    for case in CONFIG_CASES:
        committed = CORPUS / "files" / case["file"]
        text = (committed if committed.exists() else make_file(case["file"], tmp_path)).read_text(encoding="utf-8")
        errors = _paste(at, text)
        assert len(errors) == 1 and case["message"].lower() in errors[0].lower(), (case["id"], errors)
        assert secret not in errors[0], case["id"]  # never a line of the file it names
        # the session is untouched and the page still works
        assert at.session_state["dataset"] is dataset and at.session_state["trained_run"] is trained_run
        assert at.session_state["config"] is config, case["id"]
    exported = at.code[0].value
    errors = _paste(at, exported)  # and a good config still applies
    assert not errors and "Configuration applied" in plain(at.success[0].value)


def test_bad_parameter_values_never_break_the_train_page(trained):
    at = trained
    earlier = at.session_state["trained_run"]
    algorithms = at.session_state["config"].algorithms
    from genre.bounds import bounds_for
    from genre.config import AlgorithmConfig

    # values a hand-edited config or an older session could leave: text, huge numbers
    algorithms[1].params = {"k": "many"}
    algorithms += [AlgorithmConfig("als", {"factors": 10**9}, 1.0, False), AlgorithmConfig("ease", {"l2": 1e12}, 1.0, False)]
    at.switch_page("app.py").run()  # widgets not shown in a run are forgotten: Train builds them afresh
    at.switch_page("pages/3_Train.py").run()
    check(at)
    assert at.number_input(key="p_item_knn_k").value == 400  # the default, not a traceback
    for key, algorithm, param in (("p_als_factors", "als", "factors"), ("p_ease_l2", "ease", "l2")):
        widget, bound = at.number_input(key=key), bounds_for(algorithm, param)
        assert widget.max == bound.high and widget.min >= bound.low  # the widget's limits are the bounds
        assert widget.value == bound.high  # clamped
    # switching on `profile` without profiles: one error, the earlier training survives
    for toggle in at.toggle:
        if toggle.key == "on_profile":
            toggle.set_value(True)
    button(at, "Train").click().run()
    finish_job(at, errors_ok=True)  # the run fails in the background: its one line shows once it ended
    assert not at.exception and len(at.error) == 1 and "needs user profiles" in plain(at.error[0].value)
    assert at.session_state["trained_run"] is earlier
    assert at.get("plotly_chart")  # the earlier result is still shown
    assert_inert(at, "train after a failed run")


def test_runs_are_private_to_their_session(trained, monkeypatch):
    first = trained
    first.switch_page("pages/5_Metrics.py").run()
    first.text_input(key="run_name").set_value("first session's run")
    button(first, "Save this run").click().run()
    check(first)
    second = AppTest.from_file(APP, default_timeout=TIMEOUT)  # same registry file (GENRE_HOME), new session
    second.run()
    second.session_state["dataset"] = first.session_state["dataset"]
    second.session_state["trained_run"] = first.session_state["trained_run"]
    second.session_state["result"] = first.session_state["result"]
    second.switch_page("pages/5_Metrics.py").run()
    check(second)
    assert not [w for w in second.multiselect if w.key == "compare_runs"]  # nothing to compare: no widget
    assert "No saved runs yet" in " ".join(c.value for c in second.caption)
    monkeypatch.setenv("GENRE_SHARE_RUNS", "1")
    second.run()
    second.toggle(key="runs_shared").set_value(True).run()
    check(second)
    compare = second.multiselect(key="compare_runs")
    assert compare.value == []  # shown, never pre-selected
    assert compare.options[0].endswith("first session's run (other session)"), compare.options


def test_a_corrupted_registry_is_set_aside_not_a_traceback(trained, tmp_path):
    registry = tmp_path / "home" / "runs.sqlite"
    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_bytes(b"this is not a database" * 100)
    at = trained
    at.switch_page("pages/5_Metrics.py").run()
    check(at)
    button(at, "Save this run").click().run()
    check(at)
    assert len(at.session_state["saved_runs"]) == 1
    assert list(registry.parent.glob("runs.corrupt-*"))  # kept for inspection
    registry.unlink()
    registry.mkdir()  # a registry that cannot be opened at all: its section says so, the page goes on
    at.run()
    assert not at.exception and len(at.error) == 1 and "GENRE_HOME" in plain(at.error[0].value)
    assert any(s.value.startswith("Weight sweep") for s in at.subheader)


def test_serving_defaults_are_safe():
    import tomllib

    root = Path(APP).parent
    config = tomllib.loads((root / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["enableXsrfProtection"] is True and config["server"]["enableCORS"] is True
    assert 0 < config["server"]["maxUploadSize"] <= 500
    assert config["client"]["showErrorDetails"] == "none"
    run_sh = (root / "run.sh").read_text(encoding="utf-8")
    assert '--server.address "${GENRE_ADDRESS:-127.0.0.1}"' in run_sh
    hosting = (root / "docs" / "hosting.md").read_text(encoding="utf-8")  # the operator's page, moved out of the README
    for name in ("GENRE_ADDRESS", "GENRE_DATA_ROOTS", "GENRE_LLM_HOSTS", "GENRE_LLM_BASE_URL", "GENRE_SHARE_RUNS",
                 "GENRE_UPLOAD_QUOTA_MB", "maxUploadSize", "XSRF"):
        assert name in hosting, name
