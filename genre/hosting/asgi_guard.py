"""An ASGI layer in front of the Streamlit server: what Streamlit's settings cannot turn off.

Streamlit 1.67 has no option to close its unauthenticated ``/_stcore/metrics`` endpoint, and its
WebSocket origin check, for an ``Origin`` that is not the app's own, falls back to looking the
server's external IP up on the internet (one outbound request per such connection until one
succeeds). ``HostingGuard`` answers both before Streamlit sees the request: the metrics paths get
404, and a WebSocket whose ``Origin`` is neither the address the browser asked for (its ``Host``)
nor loopback nor one of ``allowed_origins`` is refused (HTTP 403 during the handshake).
``hosted.py`` (what ``run.sh`` starts) mounts it through ``st.App``'s middleware.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: Paths answered 404 whatever follows them (a base URL path may come before them).
CLOSED_PATHS = ("/_stcore/metrics",)
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _host_of(value: str) -> str:
    """Host name of an ``Origin`` URL or a ``Host`` header (port dropped, lower case)."""
    netloc = urlsplit(value).netloc if "://" in value else value
    return (urlsplit(f"//{netloc}").hostname or "").lower()


def origin_allowed(origin: str | None, host: str | None, allowed_origins: Iterable[str] = ()) -> bool:
    """Same-origin (the browser's own ``Host``), loopback, or listed: no outbound look-up needed."""
    if origin is None:  # not a browser page (curl, a test client): Streamlit's XSRF token still applies
        return True
    name = _host_of(origin)
    return bool(name) and (name in _LOOPBACK or (host is not None and name == _host_of(host))
                           or name in {_host_of(o) for o in allowed_origins})


class HostingGuard:
    """ASGI middleware: 404 for ``CLOSED_PATHS``; 403 for a WebSocket from a foreign ``Origin``."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]],
                 allowed_origins: Iterable[str] = ()) -> None:
        self.app, self.allowed_origins = app, tuple(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind, path = scope.get("type"), scope.get("path", "")
        if kind in ("http", "websocket") and any(part in path for part in CLOSED_PATHS):
            return await self._refuse(kind, send, 404, b"not found")
        if kind == "websocket" and not origin_allowed(_header(scope, b"origin"), _header(scope, b"host"),
                                                      self.allowed_origins):
            return await self._refuse(kind, send, 403, b"cross-origin websocket refused")
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(kind: str, send: Send, status: int, body: bytes) -> None:
        if kind == "websocket":  # a denial response where the server supports it, else a plain close
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
