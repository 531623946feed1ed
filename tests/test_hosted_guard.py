"""hosted.py (what run.sh serves): app.py behind genre.hosting.asgi_guard — the metrics endpoint closed
and foreign-origin WebSockets refused before Streamlit's origin check (which would look the server's
external IP up on the internet). Unit cases, then the real server with a real WebSocket client."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest

from browser_steps import app_server
from genre.hosting.asgi_guard import HostingGuard, origin_allowed


@pytest.mark.parametrize("origin, host, allowed, expected", [
    (None, "example.org", (), True),                              # not a browser page
    ("http://127.0.0.1:8501", "10.0.0.5:8501", (), True),          # loopback
    ("https://genre.example.org", "genre.example.org", (), True),  # same origin
    ("https://genre.example.org:443", "GENRE.example.org:8501", (), True),
    ("https://evil.example", "genre.example.org", (), False),
    ("https://genre.example.org.evil.example", "genre.example.org", (), False),
    ("null", "genre.example.org", (), False),                     # sandboxed iframes, file: pages
    ("https://proxy.example", "10.0.0.5:8501", ("https://proxy.example",), True),
    ("", "genre.example.org", (), False),
])
def test_which_origins_may_open_the_websocket(origin, host, allowed, expected):
    assert origin_allowed(origin, host, allowed) is expected


def _call(guard: HostingGuard, scope: dict) -> list[dict]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request"}

    async def send(message):
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent


def test_the_guard_answers_closed_paths_and_passes_the_rest():
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])

    guard = HostingGuard(app)
    sent = _call(guard, {"type": "http", "path": "/base/_stcore/metrics", "headers": []})
    assert sent[0]["status"] == 404 and reached == []
    assert _call(guard, {"type": "websocket", "path": "/_stcore/stream",
                         "headers": [(b"origin", b"https://evil.example"), (b"host", b"app.example")]}
                 ) == [{"type": "websocket.close", "code": 1008}]
    _call(guard, {"type": "http", "path": "/_stcore/health", "headers": []})
    _call(guard, {"type": "lifespan", "path": ""})
    assert reached == ["/_stcore/health", ""]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def _websocket(url: str, origin: str) -> str:
    import websockets  # comes with streamlit's server stack

    async def connect() -> str:
        try:
            async with websockets.connect(url, additional_headers={"Origin": origin}, subprotocols=["streamlit"]):
                return "open"
        except websockets.exceptions.InvalidStatus as error:
            return str(error.response.status_code)

    return asyncio.run(connect())


def test_the_served_app_closes_metrics_and_refuses_foreign_websockets(tmp_path):
    with app_server(tmp_path) as (url, port, _, _):
        assert _status(f"{url}/_stcore/health") == 200
        assert _status(f"{url}/") == 200
        assert _status(f"{url}/_stcore/metrics") == 404
        stream = f"ws://127.0.0.1:{port}/_stcore/stream"
        assert _websocket(stream, url) == "open"
        assert _websocket(stream, "https://evil.example") == "403"
