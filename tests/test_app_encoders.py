"""Encoders & LLM page: encoder parts, LLM text through an OpenAI-compatible server, files, tagging."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from app_helpers import app, button, check, finish_job, plain, train, upload_slice  # noqa: F401


class _Completions(BaseHTTPRequestHandler):
    """A minimal OpenAI-compatible chat endpoint: answers with keywords built from the prompt."""

    prompts: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        type(self).prompts.append(prompt)
        first_line = prompt.splitlines()[0]
        reply = {"choices": [{"message": {"role": "assistant", "content": f"keywords for {first_line}"}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def llm_server():
    _Completions.prompts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Completions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def encoders_page(app):
    upload_slice(app, n_users=60)
    train(app, ("popularity", "item_knn"), p_item_knn_k=50)
    app.switch_page("pages/2_Encoders.py").run()
    check(app)
    return app


def _use_server(at, url):
    at.radio(key="llm_kind").set_value("http").run()
    at.text_input(key="llm_url").set_value(url)
    at.selectbox(key="enrich_strategy").set_value("first")
    at.number_input(key="enrich_n").set_value(3).run()
    check(at)


def test_encoder_parts_apply_and_make_training_stale(encoders_page):
    at = encoders_page
    at.checkbox(key="mod_use_1").check()
    at.multiselect(key="mod_fields_1").set_value(["genres"])
    at.selectbox(key="mod_enc_1").set_value("multi-hot")
    at.slider(key="mod_w_1").set_value(0.5)
    button(at, "Apply encoders").click().run()
    check(at)
    parts = at.session_state["config"].features.modalities
    assert [(m.name, m.encoder, m.fields, m.weight) for m in parts] == [
        ("text", "tfidf", ["title", "genres", "tags"], 1.0), ("part2", "multi-hot", ["genres"], 0.5)]
    at.button(key="encode_now").click().run()
    finish_job(at)  # a background job (ui.encoder_jobs): its report shows when it is collected
    report = at.dataframe[0].value
    assert list(report.index) == ["text", "part2"] and list(report["encoder"]) == ["tfidf", "multi-hot"]
    at.switch_page("pages/3_Train.py").run()
    assert "differ from the trained model" in at.warning[0].value


def test_llm_preview_and_generation_through_a_server(encoders_page, llm_server):
    at = encoders_page
    _use_server(at, llm_server)
    assert any(c.value.startswith("3 prompts") for c in at.caption)  # the time estimate
    at.button(key="enrich_preview").click().run()
    finish_job(at)
    assert len(_Completions.prompts) == 3  # the selection has 3 items, so the preview shows those
    at.button(key="enrich_run").click().run()
    finish_job(at)
    assert len(_Completions.prompts) == 3  # the same prompts again come from the output cache
    features = at.session_state["config"].features
    saved = pd.read_csv(features.enrichment)
    dataset = at.session_state["dataset"]
    assert saved["item_id"].tolist() == dataset.item_ids[:3].tolist()
    assert saved["text"].str.startswith("keywords for Movie:").all()
    assert "llm_text" in features.modalities[0].fields
    assert "3 generated texts" in at.success[0].value


def test_generated_text_can_be_loaded_from_a_file(encoders_page):
    at = encoders_page
    ids = at.session_state["dataset"].item_ids[:4]
    csv = pd.DataFrame({"item_id": ids, "text": ["space, robots", "love", "war", "heist"]}).to_csv(index=False)
    at.file_uploader(key="enrich_file").upload("llm.csv", csv.encode(), "text/csv").run()
    at.button(key="enrich_use_file").click().run()
    check(at)
    assert at.session_state["enrichment"]["text"].tolist()[0] == "space, robots"
    assert Path(at.session_state["config"].features.enrichment).is_file()


def test_an_unreachable_server_is_a_readable_error(encoders_page):
    at = encoders_page
    _use_server(at, "http://127.0.0.1:9/v1")
    at.button(key="enrich_preview").click().run()
    finish_job(at, errors_ok=True)
    assert "could not reach" in at.error[0].value and "server running" in at.error[0].value
    assert at.session_state["config"].features.enrichment is None


def test_user_profiles_are_written_from_training_data(encoders_page, llm_server):
    at = encoders_page
    _use_server(at, llm_server)
    at.number_input(key="prof_n").set_value(2)
    at.button(key="prof_run").click().run()
    finish_job(at)
    profiles = pd.read_csv(at.session_state["config"].features.profiles)
    trained_run = at.session_state["trained_run"]
    assert profiles["user"].tolist() == trained_run.user_ids_evaluated[:2].tolist()
    assert len(_Completions.prompts) == 2 and "recently watched" in _Completions.prompts[0]


@pytest.mark.slow
def test_genre_tagging_beats_guessing_the_most_common_genre(encoders_page):
    at = encoders_page
    at.selectbox(key="tag_encoder").set_value("use-multilingual")
    at.multiselect(key="tag_fields").set_value(["title"])
    at.button(key="tag_run").click().run()
    finish_job(at, timeout=600)
    table = at.dataframe[-1].value
    assert list(table.index) == ["classifier", "zero-shot", "most-frequent"]
    assert table.loc["classifier", "sample_f1"] > table.loc["most-frequent", "sample_f1"]


def test_the_sample_offers_its_bundled_llm_descriptions(app):
    app.button(key="home_load_sample").click().run()
    app.switch_page("pages/2_Encoders.py").run()
    app.button(key="enrich_bundled").click().run()
    check(app)
    features = app.session_state["config"].features
    assert features.enrichment.endswith("sample_data/enrichment/smollm2_items.csv")
    assert features.modalities[0].fields[-1] == "llm_text"
    assert app.multiselect(key="mod_fields_0").value[-1] == "llm_text"  # the encoder row shows it
    assert "generated texts are now the item field llm_text" in plain(app.success[0].value)
