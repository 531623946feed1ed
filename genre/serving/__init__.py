"""Serving a saved trained run over HTTP (``python -m genre serve RUN_PATH``).

``create_app`` builds the FastAPI app, ``serve`` runs it with uvicorn; ``queries`` holds what
each endpoint answers as plain functions; ``curl_command`` / ``serve_command`` are the lines the
app shows a user. fastapi and uvicorn are imported only when an app is built or served.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import quote

from genre.serving.app import create_app, serve
from genre.serving.queries import MAX_BODY_BYTES, MAX_HISTORY, MAX_K


def serve_command(run_path: str | Path, host: str = "127.0.0.1", port: int = 8000) -> str:
    """The shell line that serves the run saved at ``run_path``."""
    extra = "" if host == "127.0.0.1" else f" --host {shlex.quote(host)}"
    return f"python -m genre serve {shlex.quote(str(run_path))} --port {int(port)}{extra}"


def curl_command(user_id: object, k: int = 10, host: str = "127.0.0.1", port: int = 8000,
                 with_api_key: bool = False) -> str:
    """The curl line that asks a served run for one user's top-k (the Recommendations page shows it).

    >>> curl_command(1, 5)
    "curl -s 'http://127.0.0.1:8000/users/1/recommendations?k=5'"
    """
    url = f"http://{host}:{int(port)}/users/{quote(str(user_id), safe='')}/recommendations?k={int(k)}"
    key = ' -H "X-API-Key: $GENRE_API_KEY"' if with_api_key else ""
    return f"curl -s{key} {shlex.quote(url)}"


__all__ = ["MAX_BODY_BYTES", "MAX_HISTORY", "MAX_K", "create_app", "curl_command", "serve", "serve_command"]
