"""A client for any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, ``transformers serve``,
hosted APIs), built on the official ``openai`` package, for chat completions and embeddings.

The package brings the protocol, connection pooling, timeouts and retries (connection errors,
408/409/429/5xx, honouring ``Retry-After``); GENRE adds one-line ``LLMError`` messages that say
what to check, never more than a short snippet of what the server said. Redirects are not
followed: the app checks the URL a user typed (``genre.llm.endpoints``), and a redirect must
not lead the request anywhere else.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import urllib.parse
from typing import Any, Sequence

from genre.errors import LLMError

logger = logging.getLogger("genre")

#: Longest piece of a server's reply quoted in an error message.
SNIPPET_CHARS = 120


class HTTPClient:
    """Chat completions (one user message) and embeddings against ``base_url``.

    Parameters
    ----------
    base_url : str
        API root including ``/v1`` (a bare ``http://host:port`` gets ``/v1`` appended).
    model : str
        Model name sent in each request (servers with one model often accept any name).
    api_key : str or None
        The key to send; when None, the value of ``api_key_env`` (if set) is sent; no key, no
        ``Authorization`` header.
    api_key_env : str or None
        Environment variable holding the key when ``api_key`` is None. The app passes None
        for servers a user typed: the machine's own key goes only to the operator's server.
    timeout : float
        Seconds to wait for one reply.
    retries : int
        Extra attempts after a connection error, timeout, HTTP 408/409/429 or 5xx (the
        ``openai`` package waits with exponential backoff, or as long as ``Retry-After`` says).

    Examples
    --------
    >>> client = HTTPClient("http://127.0.0.1:8000/v1", model="smollm2")
    >>> client.complete("Name one colour.", max_tokens=8)  # doctest: +SKIP
    'Blue.'
    """

    #: Requests in flight at once in ``complete_many``: servers batch concurrent requests.
    default_concurrency = 8

    def __init__(self, base_url: str = "http://127.0.0.1:8000/v1", model: str = "default",
                 api_key: str | None = None, api_key_env: str | None = "OPENAI_API_KEY",
                 timeout: float = 30.0, retries: int = 2) -> None:
        api_root(base_url)  # refuse a malformed URL (e.g. one holding CR/LF) before any request
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.retries = retries
        self._client: Any = None
        self._headers: dict[str, Any] = {}
        self._client_lock = threading.Lock()

    @property
    def api_root(self) -> str:
        """``base_url`` without a trailing slash, with ``/v1`` when it had no path."""
        return api_root(self.base_url)

    @property
    def model_id(self) -> str:
        return f"{self.api_root}#{self.model}"

    def __repr__(self) -> str:  # never the key
        return f"HTTPClient(base_url={self.base_url!r}, model={self.model!r})"

    def __getstate__(self) -> dict[str, Any]:  # picklable for caches: the openai client is rebuilt
        return {**self.__dict__, "_client": None, "_client_lock": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _client_lock=threading.Lock())

    def complete(self, prompt: str, max_tokens: int = 24, temperature: float = 0.0) -> str:
        """The assistant's reply to ``prompt``."""
        reply = self._call("chat", lambda c: c.chat.completions.create(
            model=self.model, messages=[{"role": "user", "content": prompt}],
            max_tokens=int(max_tokens), temperature=float(temperature), extra_headers=self._headers))
        try:
            content = reply.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            content = None
        if not isinstance(content, str):
            raise LLMError(f"malformed reply from {self.api_root}: no choices[0].message.content "
                           f"(got {snippet(reply)})")
        return content

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One embedding per text from ``{api_root}/embeddings`` with ``model``, in input order."""
        if not texts:
            return []
        reply = self._call("embeddings", lambda c: c.embeddings.create(
            model=self.model, input=list(texts), encoding_format="float", extra_headers=self._headers))
        try:
            rows = sorted(reply.data, key=lambda row: row.index)
            vectors = [list(row.embedding) for row in rows]
        except (AttributeError, TypeError):
            vectors = []
        if len(vectors) != len(texts) or not all(vectors):
            raise LLMError(f"malformed reply from {self.api_root}/embeddings: expected {len(texts)} "
                           f"vectors in data[].embedding (got {snippet(reply)})")
        return vectors

    def _openai(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import openai  # lazy: only when a server is called

                key = self.api_key if self.api_key is not None else \
                    (os.environ.get(self.api_key_env, "") if self.api_key_env else "")
                ambient = {} if self.api_key is None and self.api_key_env else \
                    {"organization": "", "project": ""}  # a typed server gets none of the machine's ids
                self._headers = {} if key else {"Authorization": openai.omit}  # no key, no header
                self._client = openai.OpenAI(
                    base_url=self.api_root, api_key=key or "unused", admin_api_key="",
                    timeout=float(self.timeout), max_retries=int(self.retries),
                    http_client=openai.DefaultHttpxClient(follow_redirects=False), **ambient)
            return self._client

    def _call(self, route: str, request: Any) -> Any:
        """``request(openai_client)``, with the package's failures turned into one-line LLMErrors."""
        import openai  # lazy: only when a server is called

        try:
            return request(self._openai())
        except openai.APITimeoutError as exc:
            raise LLMError(f"{self.api_root} timed out after {self.timeout:g} s ({int(self.retries) + 1} "
                           f"attempt(s)); the server may be overloaded: raise the timeout, lower "
                           f"max_tokens or the concurrency") from exc
        except openai.APIConnectionError as exc:
            raise LLMError(f"could not reach {self.api_root}: {_reason(exc)} — is the server "
                           f"running?") from exc
        except openai.APIStatusError as exc:
            raise LLMError(self._status_message(route, exc)) from exc
        except openai.APIError as exc:  # e.g. a reply that does not fit the API's schema
            raise LLMError(f"malformed reply from {self.api_root}: {snippet(exc.message)}") from exc
        except ValueError as exc:  # a 200 whose body is not JSON
            raise LLMError(f"malformed reply from {self.api_root}: not JSON ({snippet(exc)})") from exc

    def _status_message(self, route: str, exc: Any) -> str:
        code = int(exc.status_code)
        said = _server_text(exc)
        detail = snippet(said) if said else "no detail"
        if code == 429:
            wait = exc.response.headers.get("retry-after")
            return (f"{self.api_root} is rate-limiting (HTTP 429: {detail}) after {int(self.retries) + 1} "
                    f"attempt(s){f'; it asked to wait {snippet(wait, 20)} s' if wait else ''}: "
                    f"wait, or lower the concurrency")
        names_model = "model" in said.lower() or repr(self.model).lower() in said.lower()
        if code in (400, 404) and (names_model or (route == "embeddings" and code == 404)):
            what = "embedding model" if route == "embeddings" else "model"
            return (f"{self.api_root} has no {what} {self.model!r} (HTTP {code}: {detail}); name one "
                    f"the server lists at {self.api_root}/models")
        key = f"${self.api_key_env}" if self.api_key is None and self.api_key_env else "the API key field"
        hint = {401: f"check the API key ({key})", 403: f"check the API key ({key})",
                404: "check the base URL (it should end in /v1) and the model name"}.get(
            code, "see the server's log")
        return f"{self.api_root} answered HTTP {code} ({detail}); {hint}"


def api_root(base_url: str) -> str:
    """``base_url`` without a trailing slash, with ``/v1`` when it had no path; checked to be http(s)."""
    url = str(base_url).strip().rstrip("/")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):  # CR/LF would split the request's header lines
        raise LLMError(f"the server URL contains a line break or another control character: "
                       f"{snippet(base_url, 80)}; type it on one line, like http://host:port/v1")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LLMError(f"the server URL must look like http://host:port/v1, got {snippet(base_url, 80)}")
    return url if parts.path else url + "/v1"


def snippet(value: object, limit: int = SNIPPET_CHARS) -> str:
    """A short, single-line, quoted excerpt of a server reply: enough to recognise, never a page."""
    text = re.sub(r"\s+", " ", str(value)).strip()
    cut = text[:limit] + ("…" if len(text) > limit else "")
    return repr(cut)


def _server_text(exc: Any) -> str:
    """The server's own message: ``error.message`` / ``error`` / ``detail``, else the body; "" if none."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error:
            return str(error)[:2000]
    if isinstance(body, str) and body.strip():
        return body[:2000]
    try:
        return exc.response.text[:2000].strip()
    except Exception:  # noqa: BLE001 - a body we cannot read is "no detail"
        return ""


def _reason(exc: BaseException) -> str:
    """'connection refused' rather than a chain of transport exceptions."""
    seen = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return "connection refused"
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        seen = seen.__cause__ or seen.__context__
    return snippet(exc, 80)
