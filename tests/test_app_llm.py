"""Encoders & LLM page, outbound requests (issue 10 §2): only allowed servers, only the right key.

The servers are real local HTTP servers (tests/servers.py) that record what reaches them.
"""

from __future__ import annotations

import pytest

from app_helpers import app, check, finish_job, plain, upload_slice  # noqa: F401
from servers import ScriptedServer, chat_reply


@pytest.fixture
def page(app, monkeypatch):  # noqa: F811 (pytest fixture)
    for name in ("GENRE_LLM_HOSTS", "GENRE_LLM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "the-servers-own-key")
    upload_slice(app, n_users=30)
    app.switch_page("pages/2_Encoders.py").run()
    check(app)
    return app


def _preview(at, url: str, key: str = "", model: str = "default") -> None:
    at.radio(key="llm_kind").set_value("http").run()
    at.text_input(key="llm_url").set_value(url)
    at.text_input(key="llm_model").set_value(model)
    at.text_input(key="llm_api_key").set_value(key)
    at.selectbox(key="enrich_strategy").set_value("first")
    at.number_input(key="enrich_n").set_value(2).run()
    at.button(key="enrich_preview").click().run()
    assert not at.exception
    if "job" in at.session_state:  # the request goes out from a background job (ui.encoder_jobs)
        finish_job(at, errors_ok=True)


def test_a_server_outside_the_allow_list_is_refused_before_any_request(page):
    _preview(page, "http://169.254.169.254/latest/v1")
    message = plain(page.error[0].value)
    assert "169.254.169.254:80 is not an allowed language-model server" in message
    assert "GENRE_LLM_HOSTS" in message


def test_a_typed_server_gets_the_typed_key_never_the_servers_own(page):
    with ScriptedServer(lambda n, path, body: (200, chat_reply("a film"), {})) as server:
        _preview(page, server.url)
        check(page)
        _preview(page, server.url, key="my-own-key", model="other")  # another model: not from the cache
        check(page)
        sent = {r["headers"].get("authorization") for r in server.requests}
    assert sent == {None, "Bearer my-own-key"}
    assert page.session_state["llm_api_key"] == "my-own-key"  # kept in this session only


def test_the_embedding_server_must_be_allowed_and_then_offers_its_encoder(page):
    page.text_input(key="emb_url").set_value("http://10.0.0.7:11434/v1")
    page.text_input(key="emb_model").set_value("nomic-embed-text").run()
    assert "10.0.0.7:11434 is not an allowed" in plain(page.error[0].value)
    assert "openai-embeddings" not in page.selectbox(key="mod_enc_0").options
    page.text_input(key="emb_url").set_value("http://127.0.0.1:11434/v1").run()
    check(page)
    assert "LLM server embeddings (/v1/embeddings)" in page.selectbox(key="mod_enc_0").options
