"""The language-model widgets of the Encoders & LLM page: client choice, time estimate, saving outputs."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

#: Measured speed of the embedded SmolLM2-135M on 2 busy cores (STACK.md), tokens per second.
EMBEDDED_TOKENS_PER_SECOND = 15.0
#: Prompt reading and set-up per call, seconds (rough).
EMBEDDED_OVERHEAD = 0.5


def client_widget() -> tuple[str, dict[str, Any]]:
    """Pick the embedded model or an OpenAI-compatible server; returns (kind, options)."""
    kind = st.radio("Language model", ["embedded", "http"], horizontal=True, key="llm_kind",
                    format_func={"embedded": "Built-in SmolLM2-135M (offline, slow, toy quality)",
                                 "http": "OpenAI-compatible server (llama.cpp, Ollama, vLLM…)"}.get)
    if kind == "embedded":
        return kind, {}
    left, right = st.columns([2, 1])
    url = left.text_input("Server URL", "http://127.0.0.1:8000/v1", key="llm_url")
    model = right.text_input("Model name", "default", key="llm_model")
    return kind, {"base_url": url, "model": model}


def estimate(kind: str, n_prompts: int, max_tokens: int) -> str:
    """Human estimate of the generation time (the embedded model is slow; servers vary)."""
    if kind != "embedded":
        return f"{n_prompts:,} prompts; the time depends on the server."
    seconds = n_prompts * (max_tokens / EMBEDDED_TOKENS_PER_SECOND + EMBEDDED_OVERHEAD)
    pretty = f"{seconds:.0f} s" if seconds < 120 else (f"{seconds / 60:.0f} min" if seconds < 7200
                                                          else f"{seconds / 3600:.1f} h")
    return f"{n_prompts:,} prompts ≈ {pretty} with the built-in model (cached outputs are free)."


def save_generated(frame: pd.DataFrame, kind: str) -> Path:
    """Write generated text as CSV under the cache folder, named by its content; returns the path.

    Configs refer to the file by path, so ``python -m genre run`` finds the same text.
    """
    from genre.encoders import default_cache_dir

    text = frame.to_csv(index=False)
    folder = default_cache_dir() / "generated"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.csv"
    path.write_text(text, encoding="utf-8")
    return path


def cache_csv() -> bytes:
    """Every cached LLM output as CSV (built only when the download is clicked)."""
    import io

    from ui.cache import output_cache

    buffer = io.StringIO()
    output_cache().export_csv(buffer)
    return buffer.getvalue().encode()


def adopt_enrichment(frame: pd.DataFrame, features: Any, path: Path | None = None) -> None:
    """Make generated item text the field ``llm_text`` of this session (and of the first encoder part).

    ``path``: the file ``frame`` was read from, kept as is; otherwise the text is saved first.
    """
    from ui import state, widgets

    features.enrichment = str(path or save_generated(frame, "items"))
    st.session_state["enrichment"] = frame
    for modality in features.modalities[:1]:
        modality.fields = list(dict.fromkeys([*modality.fields, "llm_text"]))
    state.reset_widgets("mod_")  # the encoder rows show the new field
    widgets.flash(f"{len(frame):,} generated texts are now the item field llm_text, used by the first encoder part.")
    st.rerun()
