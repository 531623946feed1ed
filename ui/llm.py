"""The language-model widgets of the Encoders & LLM page: client choice, time estimate, saving outputs
(the generation itself runs as a job: ``ui.encoder_jobs``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from genre.paths import generated_dir

#: Throughput of the built-in SmolLM2-135M, batched, 24-token answers, items per second, and the time to
#: load it once: rough planning figures for the estimate shown before generating (bench/llm_throughput.py).
EMBEDDED_ITEMS_PER_SECOND = 0.4
EMBEDDED_LOAD_SECONDS = 60.0


def client_widget() -> tuple[str, dict[str, Any]]:
    """Pick the built-in model or an OpenAI-compatible server; returns (kind, options for ``client``).

    The key typed here lives in this browser session only and is sent only to the server typed
    beside it; the URL must pass the operator's allow-list (``genre.llm.endpoints``).
    """
    from genre.llm.endpoints import allowed_entries, operator_url

    kind = st.radio("Language model", ["embedded", "http"], horizontal=True, key="llm_kind",
                    format_func={"embedded": "Built-in SmolLM2-135M (offline, slow, toy quality)",
                                 "http": "OpenAI-compatible server (vLLM, Ollama, llama.cpp, transformers serve…)"}.get)
    if kind == "embedded":
        return kind, {}
    left, middle, right = st.columns([2, 1, 1])
    url = left.text_input("Server URL", operator_url() or "http://127.0.0.1:8000/v1", key="llm_url",
                          help=f"Servers this app may call: {', '.join(allowed_entries())} "
                               f"(the operator sets GENRE_LLM_HOSTS).")
    model = middle.text_input("Model name", "default", key="llm_model")
    key = right.text_input("API key (optional)", type="password", key="llm_api_key",
                           help="Sent only to the server typed here, kept in this browser session only.")
    return kind, {"base_url": url, "model": model, "user_key": key}


def client(kind: str, options: dict[str, Any]) -> Any:
    """The client for ``client_widget``'s choice: the shared built-in model, or an HTTP client
    for a server the allow-list admits (LLMError otherwise), with the right key."""
    if kind == "embedded":
        from ui.cache import llm_client

        return llm_client("embedded")
    from genre.llm import HTTPClient
    from genre.llm.endpoints import app_client_options

    return HTTPClient(**app_client_options(options["base_url"], options["model"], options.get("user_key", "")))


def embedding_server_widget() -> dict[str, Any] | None:
    """Server URL and model for the ``openai-embeddings`` encoder; its params, or None when unset.

    No key field: encoder params end up in configs and saved runs. Only the operator's server
    (GENRE_LLM_BASE_URL) receives the machine's key; other allowed servers get none.
    """
    from genre.llm.endpoints import allowed_entries, app_client_options, operator_url

    left, right = st.columns([2, 1])
    url = left.text_input("Embedding server URL (for the encoder “LLM server embeddings”)", operator_url() or "",
                          key="emb_url", placeholder="http://127.0.0.1:11434/v1",
                          help=f"Any /v1/embeddings server this app may call: {', '.join(allowed_entries())}.")
    model = right.text_input("Embedding model", "", key="emb_model", placeholder="nomic-embed-text")
    if not url.strip() or not model.strip():
        return None
    options = app_client_options(url, model.strip())
    return {"base_url": options["base_url"], "model": options["model"], "api_key_env": options["api_key_env"]}


def estimate(kind: str, n_prompts: int, max_tokens: int) -> str:
    """Human estimate of the generation time (the built-in model is slow; servers vary)."""
    if kind != "embedded":
        return f"{n_prompts:,} prompts, up to 8 requests at a time; the time depends on the server."
    seconds = EMBEDDED_LOAD_SECONDS + n_prompts * (max_tokens / 24) / EMBEDDED_ITEMS_PER_SECOND
    pretty = f"{seconds:.0f} s" if seconds < 120 else (f"{seconds / 60:.0f} min" if seconds < 7200
                                                          else f"{seconds / 3600:.1f} h")
    return f"{n_prompts:,} prompts ≈ {pretty} with the built-in model (cached outputs are free)."


def save_generated(frame: pd.DataFrame, kind: str) -> Path:
    """Write generated text as CSV under the cache folder, named by its content; returns the path.

    Configs refer to the file by path, so ``python -m genre run`` finds the same text.
    """
    text = frame.to_csv(index=False)
    folder = generated_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.csv"
    path.write_text(text, encoding="utf-8")
    return path


def cache_csv() -> bytes:
    """This session's cached LLM outputs as CSV (built only when the download is clicked)."""
    import io

    from ui.cache import output_cache

    buffer = io.StringIO()
    output_cache().export_csv(buffer)
    return buffer.getvalue().encode()


def adopt_enrichment(frame: pd.DataFrame, features: Any, path: Path | None = None) -> None:
    """``use_enrichment`` from a button: says so at the top of the page and reruns, so the encoder rows
    drawn above show the new field."""
    from ui import widgets

    widgets.flash(use_enrichment(frame, features, path))
    st.rerun()


def use_enrichment(frame: pd.DataFrame, features: Any, path: Path | None = None) -> str:
    """Make generated item text the field ``llm_text`` of this session (and of the first encoder part);
    returns what changed. ``path``: the file ``frame`` was read from, kept as is; otherwise the text is
    saved first."""
    from ui import state

    features.enrichment = str(path or save_generated(frame, "items"))
    st.session_state["enrichment"] = frame
    for modality in features.modalities[:1]:
        modality.fields = list(dict.fromkeys([*modality.fields, "llm_text"]))
    state.reset_widgets("mod_")  # the encoder rows show the new field
    return f"{len(frame):,} generated texts are now the item field llm_text, used by the first encoder part."
