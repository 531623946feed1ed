"""Real servers the tests start on 127.0.0.1 and stop again — the one place that knows how.

- ``process_server``: any command that serves HTTP (``transformers serve``, ``streamlit run``):
  start it, poll its health URL until it answers 200, stop it (terminate, then kill);
- ``transformers_serve``: transformers' own OpenAI-compatible FastAPI server on a folder;
- ``ScriptedServer``: a stdlib ``http.server`` whose replies a test scripts — the real thing
  for a misbehaving server (slow, malformed, rate-limiting);
- ``EmbeddingsServer``: a minimal ``/v1/embeddings`` + ``/v1/models`` server answering with
  the packaged MiniLM through sentence-transformers (``transformers serve`` has no
  embeddings route: its app registers chat/completions, completions, responses, systemone,
  audio/transcriptions, models and health only).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

#: A scripted reply: (status, body, extra headers).
Reply = tuple[int, bytes, dict[str, str]]


def free_port() -> int:
    """A TCP port nobody listens on right now (for a server to bind, or for a refused connection)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def process_server(command: list[str], health_url: str, *, timeout: float = 300.0,
                   env: dict[str, str] | None = None, cwd: str | os.PathLike | None = None
                   ) -> Iterator[subprocess.Popen]:
    """Run ``command``; yield once ``health_url`` answers 200; terminate it afterwards.

    The server's output goes to a temporary file (a full pipe would block it), whose tail is
    in the failure message when the server exits or never becomes healthy.
    """
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                               env={**os.environ, **(env or {})})

    def tail() -> str:
        log.seek(0)
        return log.read().decode("utf-8", "replace")[-1500:]

    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode}:\n{tail()}")
            try:
                with urllib.request.urlopen(health_url, timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{health_url} did not answer within {timeout:.0f} s:\n{tail()}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def transformers_serve(folder: str | os.PathLike, *, threads: int = 1, timeout: float = 600.0,
                       continuous_batching: bool = False) -> Iterator[str]:
    """``transformers serve FOLDER`` on 127.0.0.1; yields its ``/v1`` URL. Requests must name
    the model as ``str(folder)`` (the server is pinned to it). ``continuous_batching`` lets the
    server batch concurrent requests (its default answers one at a time)."""
    port = free_port()
    executable = Path(sys.executable).with_name("transformers")
    command = [str(executable), "serve", str(folder), "--host", "127.0.0.1", "--port", str(port),
               "--device", "cpu", "--log-level", "warning"]
    if continuous_batching:
        command.append("--continuous-batching")
    threads_env = {"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": "1",
                   "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with process_server(command, f"http://127.0.0.1:{port}/health", timeout=timeout, env=threads_env):
        yield f"http://127.0.0.1:{port}/v1"


class ScriptedServer:
    """A local HTTP server whose replies a test scripts.

    ``handler(number, path, body)`` returns ``(status, body, headers)`` for the ``number``-th
    request (from 1). Every request is recorded (path, headers with lower-case names, JSON body). ``delay`` seconds
    pass before each reply (a slow server).
    """

    def __init__(self, handler: Callable[[int, str, dict], Reply], delay: float = 0.0) -> None:
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: dict) -> None:
                with server._lock:
                    server.requests.append({"path": self.path, "body": body,
                                            "headers": {k.lower(): v for k, v in self.headers.items()}})
                    number = len(server.requests)
                time.sleep(delay)
                status, payload, headers = handler(number, self.path, body)
                try:
                    self.send_response(status)
                    for name, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout test)

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                self._answer(body)

            def do_GET(self) -> None:  # noqa: N802
                self._answer({})

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "ScriptedServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def chat_reply(text: str) -> bytes:
    """The JSON of an OpenAI chat completion whose answer is ``text``."""
    return json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": text}}]}).encode()


class EmbeddingsServer(ScriptedServer):
    """``POST /v1/embeddings`` and ``GET /v1/models`` serving one sentence-transformers model.

    Unknown model names get HTTP 404 with an OpenAI-style error, as vLLM and Ollama answer.
    """

    def __init__(self, model_path: str | os.PathLike, name: str = "minilm") -> None:
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.model = SentenceTransformer(str(model_path), device="cpu")
        super().__init__(self._reply)

    def _reply(self, number: int, path: str, body: dict) -> Reply:
        if path.endswith("/models"):
            return 200, json.dumps({"object": "list", "data": [
                {"id": self.name, "object": "model", "created": 0, "owned_by": "test"}]}).encode(), {}
        if not path.endswith("/embeddings"):
            return 404, b'{"error": {"message": "no such route"}}', {}
        if body.get("model") != self.name:
            message = f"model '{body.get('model')}' not found"
            return 404, json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode(), {}
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = self.model.encode(texts, normalize_embeddings=False, convert_to_numpy=True)
        data = [{"object": "embedding", "index": i, "embedding": [float(x) for x in v]}
                for i, v in enumerate(vectors)]
        return 200, json.dumps({"object": "list", "data": data, "model": self.name,
                                "usage": {"prompt_tokens": 0, "total_tokens": 0}}).encode(), {}
