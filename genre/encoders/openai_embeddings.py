"""Text vectors from any OpenAI-compatible ``/v1/embeddings`` server (Ollama, vLLM,
text-embeddings-inference, hosted APIs), through the same client as the chat models.

Useful when a bigger embedding model than the packaged MiniLM runs somewhere: item text,
LLM-written item text and user profiles all embed through it, and the on-disk cache keys the
vectors by server and model, so each text is sent once.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Sequence

import numpy as np

from genre.constraints import MODEL_NAME, Bound, Constraints, Text
from genre.encoders.base import Progress, encode_texts_in_chunks
from genre.errors import ConfigError, EncoderError, LLMError
from genre.llm.endpoints import KEY_ENV, app_client_options, check_app_url, operator_url
from genre.llm.http import HTTPClient

#: Operator defaults, so ``make_encoder("openai-embeddings")`` (e.g. as the profile encoder) works.
BASE_URL_ENV = "GENRE_LLM_BASE_URL"
MODEL_ENV = "GENRE_LLM_EMBEDDING_MODEL"


class OpenAIEmbeddingsEncoder:
    """``POST {base_url}/embeddings`` in batches; rows L2-normalized, empty texts zero.

    Parameters
    ----------
    base_url : str or None
        API root (``http://host:port/v1``); default ``$GENRE_LLM_BASE_URL``, else
        ``http://127.0.0.1:8000/v1``.
    model : str or None
        Embedding model the server knows; default ``$GENRE_LLM_EMBEDDING_MODEL``, else ``default``.
    api_key_env : str or None
        Environment variable holding the key (None: send no key). In the app, only the
        operator's server (``GENRE_LLM_BASE_URL``) gets the machine's key.
    batch_size : int
        Texts per request.
    timeout : float
        Seconds to wait for one reply.

    Examples
    --------
    >>> enc = OpenAIEmbeddingsEncoder("http://127.0.0.1:11434/v1", model="nomic-embed-text")
    >>> enc.id
    'openai-embeddings:http://127.0.0.1:11434/v1#nomic-embed-text'
    """

    cacheable = True

    _parameter_constraints: ClassVar[Constraints] = {
        "base_url": Text(max_chars=2048, none_ok=True), "model": MODEL_NAME,
        "api_key_env": Text(max_chars=256, none_ok=True), "batch_size": Bound(1, 2048, int),
        "timeout": Bound(0.0, 3600.0, low_open=True)}

    def __init__(self, base_url: str | None = None, model: str | None = None,
                 api_key_env: str | None = "OPENAI_API_KEY", batch_size: int = 64,
                 timeout: float = 60.0) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key_env = api_key_env
        self.batch_size = batch_size
        self.timeout = timeout
        self.last_report: dict[str, Any] = {}
        self._dim: int | None = None
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            url = self.base_url or os.environ.get(BASE_URL_ENV) or "http://127.0.0.1:8000/v1"
            model = self.model or os.environ.get(MODEL_ENV) or "default"
            self._client = HTTPClient(url, model=model, api_key_env=self.api_key_env,
                                      timeout=float(self.timeout))
        return self._client

    @property
    def id(self) -> str:
        """Server and model: the cache keeps vectors of different servers or models apart."""
        try:
            return f"openai-embeddings:{self.client.model_id}"
        except LLMError as exc:
            raise EncoderError(str(exc)) from exc

    @property
    def dim(self) -> int:
        """Width of the server's vectors (asked once with a one-word text when not yet known)."""
        if self._dim is None:
            self._dim = len(self._embed(["dimension"])[0])
        return self._dim

    def encode(self, inputs: Sequence[Any], progress: Progress | None = None) -> np.ndarray:
        """L2-normalized float32 rows; empty texts give zero rows without a request."""
        def chunk(texts: list[str]) -> np.ndarray:
            rows = np.asarray(self._embed(texts), dtype=np.float32)
            if self._dim is None:
                self._dim = rows.shape[1]
            if rows.shape != (len(texts), self._dim):
                raise EncoderError(f"{self.id} returned vectors of shape {rows.shape}, expected "
                                   f"({len(texts)}, {self._dim})")
            return rows

        vectors, empty = encode_texts_in_chunks(inputs, self.dim, chunk, int(self.batch_size),
                                                progress, "openai-embeddings")
        self.last_report = {"empty": empty}
        return vectors

    def _embed(self, texts: list[str]) -> list[list[float]]:
        try:
            return self.client.embed(texts)
        except LLMError as exc:  # the encoders' callers expect EncoderError
            raise EncoderError(str(exc)) from exc


def confine_params(params: dict[str, Any], *, what: str) -> None:
    """Apply the app's outbound policy to a config's ``openai-embeddings`` params (a config
    imported in the app must not send requests, or the server's key, anywhere else)."""

    url = params.get("base_url") or operator_url() or "http://127.0.0.1:8000/v1"
    try:
        root = check_app_url(str(url))
        allowed_env = app_client_options(root, "m")["api_key_env"]
    except LLMError as exc:
        raise ConfigError(f"{what}.base_url: {exc}") from exc
    key_env = params.get("api_key_env", KEY_ENV)
    if key_env is not None and key_env != allowed_env:
        raise ConfigError(f"{what}.api_key_env: only the operator's server ({BASE_URL_ENV}) may receive "
                          f"a key from the environment ({KEY_ENV}); set api_key_env: null")
