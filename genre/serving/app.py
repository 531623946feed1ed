"""The HTTP API over a saved trained run: a FastAPI app factory (read-only) and the uvicorn runner.

``fastapi`` and ``uvicorn`` are imported inside the functions that need them, so importing GENRE
never pays for them. Every error is one line of JSON, ``{"error": "..."}``: unknown ids → 404,
bad input → 400/422, a body over 1 MB → 413, a missing or wrong API key → 401.

Examples
--------
>>> app = create_app(TrainedRun.load("runs/tuned"))           # doctest: +SKIP
>>> serve("runs/tuned", port=8000)                             # doctest: +SKIP
"""

import hmac  # (no __future__ annotations: FastAPI reads the route signatures' types)
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from genre import __version__
from genre.errors import FoldInError, GenreError
from genre.run import TrainedRun
from genre.serving.queries import (
    MAX_BODY_BYTES,
    MAX_HISTORY,
    MAX_K,
    UnknownId,
    UserLists,
    history_recommendations,
    run_info,
    similar_items,
    user_recommendations,
)

log = logging.getLogger("genre")

#: Paths that answer without the API key (liveness and the API's own documentation).
OPEN_PATHS = ("/health", "/docs", "/openapi.json", "/docs/oauth2-redirect")
_HISTORY_SCHEMA = {"type": "object", "required": ["items"], "properties": {
    "items": {"type": "array", "maxItems": MAX_HISTORY, "items": {"type": ["integer", "string"]},
              "description": "raw item ids, oldest first"},
    "timestamps": {"type": "array", "items": {"type": "number"}, "description": "one per item (optional)"},
    "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10}}}


def _status(error: GenreError) -> int:
    if isinstance(error, UnknownId):
        return 404
    return 422 if isinstance(error, FoldInError) else 400


def create_app(trained: TrainedRun, api_key: str | None = None) -> Any:
    """A FastAPI app answering from ``trained`` (never changing it); ``api_key``: required in the
    ``X-API-Key`` header of every data request when given (default: env ``GENRE_API_KEY``)."""
    from fastapi import FastAPI, Request  # heavy optional: only the serve path needs it
    from fastapi.concurrency import run_in_threadpool  # heavy optional: comes with fastapi
    from fastapi.exceptions import RequestValidationError  # heavy optional: comes with fastapi
    from fastapi.responses import JSONResponse  # heavy optional: comes with fastapi

    key = api_key if api_key is not None else os.environ.get("GENRE_API_KEY") or None
    lists = UserLists.of(trained)  # known users' lists ranked once: the weights never change here
    # One fold-in at a time: it is mostly Python holding the GIL, and concurrent ones thrash it
    # (bench/serve.py, 8 clients on 2 idle cores: 124 req/s alone fell to 72 req/s, p99 182 ms).
    folding = threading.Lock()

    def fold_in(payload: Any) -> dict:
        with folding:
            return history_recommendations(trained, payload)
    app = FastAPI(title="GENRE trained run", version=__version__,
                  description="Recommendations from a saved GENRE run (read-only).")

    def error(status: int, message: str) -> Any:
        return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return error(413, f"the request body is over {MAX_BODY_BYTES:,} bytes")
        if key is not None and request.url.path not in OPEN_PATHS:
            given = request.headers.get("x-api-key", "")
            if not hmac.compare_digest(given.encode(), key.encode()):
                return error(401, "missing or wrong API key: send it in the X-API-Key header")
        try:
            return await call_next(request)
        except Exception:  # the one place a bug becomes a response: logged, never a traceback to the client
            log.exception("serving %s failed", request.url.path)
            return error(500, "internal error; see the server log")

    @app.exception_handler(GenreError)
    async def genre_error(request: Request, exc: GenreError):
        return error(_status(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error(422, f"{where}: {first.get('msg', 'invalid input')}")

    for status in (404, 405):
        app.add_exception_handler(status, lambda request, exc: error(exc.status_code, exc.detail))

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "users": int(trained.dataset_.n_users), "items": int(trained.dataset_.n_items),
                "ranked_at_start": int(lists.complete.sum())}

    @app.get("/users/{user_id}/recommendations")
    def recommendations(user_id: str, k: int = 10) -> dict:
        """Top-k for a user of the training data (seen items excluded)."""
        return user_recommendations(trained, user_id, k, lists)

    @app.post("/recommendations", openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": _HISTORY_SCHEMA}}}})
    async def for_history(request: Request) -> dict:
        """Top-k for a posted history (fold-in: no refit)."""
        body = b""
        async for chunk in request.stream():  # bounded even when no Content-Length was sent
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return error(413, f"the request body is over {MAX_BODY_BYTES:,} bytes")
        try:
            payload = json.loads(body or b"null")
        except ValueError as exc:
            return error(400, f"the body is not JSON: {exc}")
        return await run_in_threadpool(fold_in, payload)

    @app.get("/items/{item_id}/similar")
    def similar(item_id: str, k: int = 10) -> dict:
        """The k items most like one (content vectors, else co-occurrence)."""
        return similar_items(trained, item_id, k)

    @app.get("/run")
    def run() -> dict:
        """The run's config, metrics and mix weights."""
        return run_info(trained)

    return app


def serve(run_path: str | Path, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None) -> None:
    """Load the saved run at ``run_path`` and serve it with uvicorn until interrupted."""
    import uvicorn  # heavy optional: only the serve path needs it

    trained = TrainedRun.load(run_path)
    app = create_app(trained, api_key)
    log.warning("serving %s on http://%s:%d (docs at /docs)", run_path, host, port)
    uvicorn.run(app, host=host, port=int(port), log_level="warning", access_log=False)
