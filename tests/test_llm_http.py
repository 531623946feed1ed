"""The OpenAI-compatible HTTP client against a real llama.cpp server, and its error paths."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

import pytest

from genre.errors import LLMError
from genre.llm import HTTPClient, OutputCache, complete_many, packaged_model_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """``python -m llama_cpp.server`` on the packaged SmolLM2 GGUF; yields its /v1 URL."""
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"llama_cpp.server cannot be imported ({exc}); install llama-cpp-python[server]")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_model_path()),
         "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_ctx", "1024",
         "--verbose", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {process.stderr.read().decode()[-800:]}")
            try:
                with urllib.request.urlopen(url + "/models", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer within 120 s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_http_client_completes_against_llama_cpp_server(llama_server, tmp_path):
    client = HTTPClient(llama_server, model="smollm2", timeout=120)
    prompts = ["Name one colour.", "Name one animal."]
    cache = OutputCache(tmp_path)
    first = complete_many(client, prompts, max_tokens=8, cache=cache)
    assert all(isinstance(text, str) and text.strip() for text in first), first
    assert cache.models() == {f"{llama_server}#smollm2": 2}
    assert complete_many(client, prompts, max_tokens=8, cache=cache) == first


# ---------------------------------------------------------------- error paths on a fake server
class FakeServer:
    """A local HTTP server whose replies a test scripts: handler(request_number) -> (status, body)."""

    def __init__(self, handler: Callable[[int], tuple[int, bytes]], delay: float = 0.0):
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length", 0))
                server.requests.append({"path": self.path, "headers": dict(self.headers),
                                        "body": json.loads(self.rfile.read(length))})
                time.sleep(delay)
                status, body = handler(len(server.requests))
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_server():
    servers: list[FakeServer] = []

    def start(handler, delay: float = 0.0) -> FakeServer:
        servers.append(FakeServer(handler, delay))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def reply(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


def test_server_down_is_a_clear_llm_error():
    client = HTTPClient(f"http://127.0.0.1:{free_port()}/v1", retries=1, backoff=0.01)
    with pytest.raises(LLMError, match=r"could not reach http://127\.0\.0\.1:\d+/v1: "
                                       r"connection refused — is the server running\?"):
        client.complete("hi")


def test_timeout_is_a_clear_llm_error(fake_server):
    server = fake_server(lambda n: (200, reply("late")), delay=3.0)
    client = HTTPClient(server.url, timeout=0.3, retries=2, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"timed out after 0\.3 s"):
        client.complete("hi")
    assert time.monotonic() - started < 2.5  # a timeout is not retried
    assert len(server.requests) == 1


@pytest.mark.parametrize("body, message", [
    (b"<html>not json</html>", "malformed reply from .*: not JSON"),
    (json.dumps({"choices": []}).encode(), r"malformed reply from .*: no choices\[0\]\.message\.content"),
    (json.dumps({"error": "x"}).encode(), r"no choices\[0\]\.message\.content"),
])
def test_malformed_replies_are_clear_llm_errors(fake_server, body, message):
    server = fake_server(lambda n: (200, body))
    with pytest.raises(LLMError, match=message):
        HTTPClient(server.url, retries=0).complete("hi")


def test_5xx_and_429_are_retried_with_backoff_then_succeed(fake_server):
    statuses = {1: 503, 2: 429}
    server = fake_server(lambda n: (statuses[n], b'{"error": "busy"}') if n in statuses
                         else (200, reply("Blue")))
    client = HTTPClient(server.url, model="m", retries=2, backoff=0.01)
    assert client.complete("Name one colour.", max_tokens=5, temperature=0.2) == "Blue"
    assert len(server.requests) == 3
    sent = server.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"] == {"model": "m", "messages": [{"role": "user", "content": "Name one colour."}],
                            "max_tokens": 5, "temperature": 0.2}


def test_persistent_5xx_and_4xx_name_status_and_fix(fake_server, monkeypatch):
    server = fake_server(lambda n: (500, b"model crashed"))
    with pytest.raises(LLMError, match=r"answered HTTP 500 \(model crashed\)"):
        HTTPClient(server.url, retries=1, backoff=0.01).complete("hi")
    assert len(server.requests) == 2

    denied = fake_server(lambda n: (401, b'{"error": "bad key"}'))
    monkeypatch.setenv("MY_LLM_KEY", "secret-123")
    with pytest.raises(LLMError, match=r"HTTP 401 .*check the API key in \$MY_LLM_KEY"):
        HTTPClient(denied.url, api_key_env="MY_LLM_KEY", retries=3).complete("hi")
    assert len(denied.requests) == 1  # 4xx other than 429 is not retried
    assert denied.requests[0]["headers"]["Authorization"] == "Bearer secret-123"


def test_no_api_key_means_no_authorization_header(fake_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = fake_server(lambda n: (200, reply("ok")))
    assert HTTPClient(server.url.removesuffix("/v1")).complete("hi") == "ok"  # /v1 appended
    assert "Authorization" not in server.requests[0]["headers"]
    with pytest.raises(LLMError, match="base_url must look like"):
        HTTPClient("127.0.0.1:8000").complete("hi")
