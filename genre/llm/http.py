"""A client for any OpenAI-compatible chat server (llama.cpp server, Ollama, vLLM, hosted APIs).

Stdlib only (``urllib.request`` + ``json``). Connection errors, 5xx and 429 are retried with
exponential backoff; everything that still fails becomes an ``LLMError`` whose message says
what to check.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from genre.errors import LLMError

logger = logging.getLogger("genre")

_RETRY_STATUS = {429, 500, 502, 503, 504}


class HTTPClient:
    """POST ``{base_url}/chat/completions`` with one user message.

    Parameters
    ----------
    base_url : str
        API root including ``/v1`` (a bare ``http://host:port`` gets ``/v1`` appended).
    model : str
        Model name sent in each request (servers with one model often accept any name).
    api_key_env : str
        Name of the environment variable holding the API key; unset means no key is sent.
    timeout : float
        Seconds to wait for one reply.
    retries : int
        Extra attempts after a connection error, HTTP 5xx or 429.
    backoff : float
        First wait between attempts in seconds; doubles each time.

    Examples
    --------
    >>> client = HTTPClient("http://127.0.0.1:8000/v1", model="smollm2")
    >>> client.complete("Name one colour.", max_tokens=8)  # doctest: +SKIP
    'Blue.'
    """

    def __init__(self, base_url: str = "http://127.0.0.1:8000/v1", model: str = "default",
                 api_key_env: str = "OPENAI_API_KEY", timeout: float = 30.0, retries: int = 2,
                 backoff: float = 0.5) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    @property
    def api_root(self) -> str:
        """``base_url`` without a trailing slash, with ``/v1`` when it had no path."""
        url = self.base_url.strip().rstrip("/")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise LLMError(f"base_url must look like http://host:port/v1, got {self.base_url!r}")
        return url if parts.path else url + "/v1"

    @property
    def model_id(self) -> str:
        return f"{self.api_root}#{self.model}"

    def __repr__(self) -> str:
        return f"HTTPClient(base_url={self.base_url!r}, model={self.model!r})"

    def complete(self, prompt: str, max_tokens: int = 24, temperature: float = 0.0) -> str:
        """The assistant's reply to ``prompt``."""
        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}],
                "max_tokens": int(max_tokens), "temperature": float(temperature)}
        reply = self._post("/chat/completions", body)
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            content = None
        if not isinstance(content, str):
            raise LLMError(f"malformed reply from {self.api_root}: no choices[0].message.content "
                           f"(got {json.dumps(reply)[:200]})")
        return content

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        url = self.api_root + path
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = json.dumps(body).encode("utf-8")
        for attempt in itertools.count():
            last = attempt >= int(self.retries)
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", "replace")
                if exc.code in _RETRY_STATUS and not last:
                    self._wait(attempt, f"HTTP {exc.code}", exc.headers.get("Retry-After"))
                    continue
                raise LLMError(self._status_message(exc.code, detail)) from exc
            except OSError as exc:  # URLError (refused, DNS), timeouts, resets mid-reply
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                if isinstance(reason, TimeoutError):
                    raise LLMError(f"{url} timed out after {self.timeout:g} s; the server may be "
                                   f"overloaded: raise the timeout or lower max_tokens") from exc
                if not last:
                    self._wait(attempt, str(reason), None)
                    continue
                raise LLMError(f"could not reach {self.api_root}: {_reason(reason)} — "
                               f"is the server running?") from exc
            try:
                return json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise LLMError(f"malformed reply from {url}: not JSON "
                               f"({raw[:200].decode('utf-8', 'replace')!r})") from exc

    def _wait(self, attempt: int, why: str, retry_after: str | None) -> None:
        delay = self.backoff * (2 ** attempt)
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        logger.warning("%s: %s; retrying in %.1f s (attempt %d of %d)", self.api_root, why, delay,
                       attempt + 2, int(self.retries) + 1)
        time.sleep(delay)

    def _status_message(self, code: int, detail: str) -> str:
        hint = {401: f"check the API key in ${self.api_key_env}",
                403: f"check the API key in ${self.api_key_env}",
                404: "check the base URL (it should end in /v1) and the model name",
                429: "the server is rate-limiting: wait, or lower the request rate"}.get(
            code, "see the server's log")
        return f"{self.api_root} answered HTTP {code} ({detail.strip() or 'no detail'}); {hint}"


def _reason(reason: object) -> str:
    """'connection refused' rather than '[Errno 111] Connection refused'."""
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason)
