"""The OpenAI-compatible client against a real ``transformers serve``, and against misbehaving servers.

The misbehaving ones (down, slow, malformed, rate-limiting) are real HTTP servers too: a
stdlib ``http.server`` on 127.0.0.1 whose replies each test scripts (tests/servers.py).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Iterator

import pytest

from genre.errors import ConfigError, LLMError
from genre.llm import HTTPClient, LLMCancelled, OutputCache, complete_many
from genre.llm.embedded import export_hf_folder
from servers import ScriptedServer, chat_reply, free_port, transformers_serve


def ok(text: str = "ok") -> tuple[int, bytes, dict]:
    return 200, chat_reply(text), {}


@pytest.fixture(scope="module")
def hf_server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """``transformers serve`` on the packaged SmolLM2, exported once to a Hugging Face folder."""
    folder = export_hf_folder(target=tmp_path_factory.mktemp("hf") / "smollm2")
    assert export_hf_folder(target=folder) == folder  # idempotent: a second call reuses it
    with transformers_serve(folder) as url:
        yield url, str(folder)


@pytest.mark.slow
def test_client_completes_against_transformers_serve(hf_server, tmp_path):
    url, model = hf_server
    client = HTTPClient(url, model=model, timeout=300)
    prompts = ["Name one colour.", "Name one animal.", "Name one fruit."]
    cache = OutputCache(tmp_path)
    first = complete_many(client, prompts, max_tokens=6, cache=cache, max_concurrency=2)
    assert all(isinstance(text, str) and text.strip() for text in first), first
    assert cache.models() == {f"{url}#{model}": 3}
    assert complete_many(client, prompts, max_tokens=6, cache=cache) == first  # from the cache
    with pytest.raises(LLMError, match=r"has no model 'nope' \(HTTP 4\d\d: .*pinned"):
        HTTPClient(url, model="nope", retries=0).complete("hi", max_tokens=2)


# ---------------------------------------------------------------- failures, on scripted servers
def test_server_down_is_a_clear_llm_error():
    client = HTTPClient(f"http://127.0.0.1:{free_port()}/v1", retries=1)
    with pytest.raises(LLMError, match=r"could not reach http://127\.0\.0\.1:\d+/v1: "
                                       r"connection refused — is the server running\?"):
        client.complete("hi")


def test_slow_server_is_a_timeout_llm_error():
    with ScriptedServer(lambda n, path, body: ok("late"), delay=2.0) as server:
        client = HTTPClient(server.url, timeout=0.3, retries=1)
        with pytest.raises(LLMError, match=r"timed out after 0\.3 s \(2 attempt\(s\)\).*raise the timeout"):
            client.complete("hi")
        assert len(server.requests) == 2  # the timeout was retried once, then reported


@pytest.mark.parametrize("status, body, message", [
    (200, b"<html>not json</html>", r"malformed reply from .*/v1"),
    (200, b'{"choices": [', r"malformed reply from .*/v1"),
    (200, json.dumps({"choices": []}).encode(), r"no choices\[0\]\.message\.content"),
    (200, json.dumps({"error": "x"}).encode(), r"no choices\[0\]\.message\.content"),
])
def test_malformed_replies_are_clear_llm_errors(status, body, message):
    with ScriptedServer(lambda n, path, b: (status, body, {})) as server:
        with pytest.raises(LLMError, match=message) as caught:
            HTTPClient(server.url, retries=0).complete("hi")
    assert len(str(caught.value)) < 400  # a snippet, never the page


def test_429_waits_as_retry_after_says_then_succeeds():
    seen: list[float] = []

    def handler(number, path, body):
        seen.append(time.monotonic())
        return (429, b'{"error": {"message": "slow down"}}', {"Retry-After": "1"}) if number == 1 else ok("Blue")

    with ScriptedServer(handler) as server:
        client = HTTPClient(server.url, model="m", retries=2)
        assert client.complete("Name one colour.", max_tokens=5, temperature=0.2) == "Blue"
        assert len(server.requests) == 2 and seen[1] - seen[0] >= 0.9  # waited the second it asked for
        sent = server.requests[-1]
        assert sent["path"] == "/v1/chat/completions"
        assert sent["body"]["messages"] == [{"role": "user", "content": "Name one colour."}]
        assert (sent["body"]["model"], sent["body"]["max_tokens"], sent["body"]["temperature"]) == ("m", 5, 0.2)


def test_persistent_429_names_the_rate_limit_and_the_wait():
    with ScriptedServer(lambda n, path, body: (429, b'{"error": {"message": "quota"}}',
                                               {"Retry-After": "0"})) as server:
        with pytest.raises(LLMError, match=r"rate-limiting \(HTTP 429: 'quota'\) after 2 attempt\(s\); "
                                           r"it asked to wait '0' s: wait, or lower the concurrency"):
            HTTPClient(server.url, retries=1).complete("hi")
        assert len(server.requests) == 2


def test_5xx_and_4xx_name_status_short_detail_and_fix(monkeypatch):
    with ScriptedServer(lambda n, path, body: (500, b"model crashed " + b"x" * 5000, {})) as server:
        with pytest.raises(LLMError, match=r"answered HTTP 500 \('model crashed x+…'\); see the server's log") as caught:
            HTTPClient(server.url, retries=1).complete("hi")
        assert len(server.requests) == 2 and len(str(caught.value)) < 300
    monkeypatch.setenv("MY_LLM_KEY", "secret-123")
    with ScriptedServer(lambda n, path, body: (401, b'{"error": "bad key"}', {})) as denied:
        with pytest.raises(LLMError, match=r"HTTP 401 \('bad key'\); check the API key \(\$MY_LLM_KEY\)"):
            HTTPClient(denied.url, api_key_env="MY_LLM_KEY", retries=3).complete("hi")
        assert len(denied.requests) == 1  # 4xx other than 408/409/429 is not retried
        assert denied.requests[0]["headers"]["authorization"] == "Bearer secret-123"


def test_which_key_is_sent(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "server-secret")
    with ScriptedServer(lambda n, path, body: ok()) as server:
        assert HTTPClient(server.url.removesuffix("/v1")).complete("hi") == "ok"  # /v1 appended
        HTTPClient(server.url, api_key="typed-key").complete("hi")
        HTTPClient(server.url, api_key_env=None).complete("hi")
        sent = [r["headers"].get("authorization") for r in server.requests]
        assert sent == ["Bearer server-secret", "Bearer typed-key", None]
        assert "server-secret" not in repr(HTTPClient(server.url))
    with pytest.raises(LLMError, match="must look like http://host:port/v1"):
        HTTPClient("127.0.0.1:8000").complete("hi")


def test_redirects_are_not_followed():
    with ScriptedServer(lambda n, path, body: ok("elsewhere")) as target:
        with ScriptedServer(lambda n, path, body: (307, b"", {"Location": target.url + "/chat/completions"})) as hop:
            with pytest.raises(LLMError, match="HTTP 307"):
                HTTPClient(hop.url, retries=0).complete("hi")
        assert target.requests == []


# ---------------------------------------------------------------- bounded concurrency
def test_complete_many_runs_requests_concurrently_in_order_and_resumes(tmp_path):
    active, peak, lock = [0], [0], threading.Lock()

    def handler(number, path, body):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return ok(body["messages"][0]["content"].upper())

    prompts = [f"p{i}" for i in range(12)] + ["p0"]
    with ScriptedServer(handler) as server:
        client = HTTPClient(server.url, model="m")
        calls: list[tuple[int, int, str]] = []
        stop = {"after": 5}
        with pytest.raises(LLMCancelled):
            complete_many(client, prompts, cache=OutputCache(tmp_path), max_concurrency=3,
                          should_stop=lambda: len(server.requests) >= stop["after"])
        first_round = len(server.requests)
        assert 5 <= first_round <= 7  # units in flight finished; nothing new started
        stop["after"] = 10 ** 6
        out = complete_many(client, prompts, cache=OutputCache(tmp_path), max_concurrency=3,
                            progress=lambda *a: calls.append(a))
        assert out == [p.upper() for p in prompts]  # input order, duplicate answered once
        assert len(server.requests) == 12  # resumed: nothing generated twice
        assert peak[0] == 3  # bounded
        assert calls[0][:2] == (first_round + 1, 13) and calls[-1][:2] == (13, 13)
        assert "prompts/s" in calls[-1][2] or "s per prompt" in calls[-1][2]
        with pytest.raises(ConfigError, match="max_concurrency must be at least 1"):
            complete_many(client, ["x"], max_concurrency=0)


def test_complete_many_stops_at_the_first_failure_and_keeps_finished_outputs(tmp_path):
    def handler(number, path, body):
        content = body["messages"][0]["content"]
        return (400, b'{"error": {"message": "bad prompt"}}', {}) if content == "p3" else ok(content)

    with ScriptedServer(handler) as server:
        client = HTTPClient(server.url, model="m", retries=0)
        cache = OutputCache(tmp_path)
        with pytest.raises(LLMError, match=r"HTTP 400 \('bad prompt'\)"):
            complete_many(client, [f"p{i}" for i in range(8)], cache=cache, max_concurrency=2)
        assert 1 <= len(cache) < 8 and cache.get(client.model_id, "p0", 24, 0.0) == "p0"
