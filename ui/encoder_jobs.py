"""The Encoders & LLM page's long work as background jobs (``ui.jobs``): encoding the item parts, LLM
item text and user profiles, and measuring genre tagging.

Each can take minutes — MiniLM needs about a minute for the sample's 9.7k items, the built-in language
model a minute to load and seconds per answer — so none runs inside the page: each is a job with
counted progress and the time left in the sidebar, and leaving the page does not stop it. Inputs (the
client, the caches, the session's features) are taken in the script thread; the job's table lands in
the session under ``RESULTS`` for the page to show (``result``), tagged with the dataset it is about.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st

from ui import cache, jobs, llm

#: The session key of the jobs' tables: what → (weak reference to the dataset, table).
RESULTS = "_encoder_results"
KINDS = ("encode", "llm_text", "llm_profiles", "tagging")


def result(what: str, dataset: Any) -> pd.DataFrame | None:
    """The table the last ``what`` job left for ``dataset`` (None for another dataset, or none yet)."""
    kept = st.session_state.get(RESULTS, {}).get(what)
    return kept[1] if kept is not None and kept[0]() is dataset else None


def _keep(what: str, dataset: Any, table: pd.DataFrame) -> None:
    st.session_state.setdefault(RESULTS, {})[what] = (weakref.ref(dataset), table)


def encode(dataset: Any, modalities: list) -> bool:
    """Encode the item parts into the embedding cache (what training reads) and keep the report."""
    from genre.encoders import build_item_vectors

    store = cache.embedding_cache()

    def work(progress: Callable) -> pd.DataFrame:
        parts: list[str] = []

        def staged(done: int, total: int, message: str = "") -> None:  # one stage per part ("name: …")
            part = message.split(":", 1)[0]
            if not parts or parts[-1] != part:
                parts.append(part)
                progress(0, 0, f"encoding part {part!r}")
            progress(done, total, message)

        built = build_item_vectors(dataset, modalities, cache=store, progress=staged)
        return pd.DataFrame(built.report).T.drop(columns=["flagged_items"], errors="ignore")

    def install(report: pd.DataFrame) -> str:
        _keep("encode", dataset, report)
        return f"Encoded {len(modalities)} part(s) of {dataset.n_items:,} items; the cache holds them for training."

    return jobs.start("encode", f"Encoding {dataset.n_items:,} items ({', '.join(m.encoder for m in modalities)})",
                      len(modalities), work, install)


def item_text(dataset: Any, client: Any, items: np.ndarray, template: str, fields: list[str], max_tokens: int,
              features: Any, adopt: bool) -> bool:
    """Write LLM text for ``items``; with ``adopt`` it becomes the item field ``llm_text`` (``llm.use_enrichment``)."""
    from genre.llm import Generation, enrich_items

    outputs = cache.output_cache()

    def work(progress: Callable) -> pd.DataFrame:
        return enrich_items(dataset, client, items=items, template=template, fields=fields,
                            generation=Generation(max_tokens=max_tokens, cache=outputs, progress=progress))

    def install(frame: pd.DataFrame) -> str:
        shown = frame.assign(title=dataset.items["title"].to_numpy()[items])
        shown.attrs = {}  # the parse report is not a table property
        _keep("llm_text", dataset, shown)
        if adopt and st.session_state.get("dataset") is dataset:
            return llm.use_enrichment(frame, features)
        return f"LLM text written for {len(frame):,} items (shown on the Encoders & LLM page)."

    return jobs.start("llm_text", f"LLM item text for {len(items):,} items", 1, work, install)


def profiles(dataset: Any, trained_run: Any, client: Any, users: np.ndarray, template: str, features: Any) -> bool:
    """Write LLM profiles of ``users`` from their training items; saved and set as ``features.profiles``."""
    from genre.llm import Generation, profile_users

    outputs, train = cache.output_cache(), trained_run.split_.train_matrix()

    def work(progress: Callable) -> pd.DataFrame:
        written = profile_users(dataset, train, client, users=users, template=template,
                                generation=Generation(cache=outputs, progress=progress))
        return pd.DataFrame({"user": dataset.user_ids[written["user"].to_numpy()],
                             "text": written["text"].to_numpy()})  # raw ids, as the config expects

    def install(frame: pd.DataFrame) -> str:
        features.profiles = str(llm.save_generated(frame, "profiles"))
        _keep("llm_profiles", dataset, frame)
        return "Profiles saved: switch on the profile algorithm on the Train page to use them."

    return jobs.start("llm_profiles", f"LLM profiles of {len(users):,} users", 1, work, install)


def tagging(dataset: Any, tagged: Any, encoder: str, fields: tuple[str, ...]) -> bool:
    """Measure genre tagging from ``encoder``'s vectors of ``fields`` of ``tagged`` (``dataset`` with its
    LLM text): the items are encoded first (counted, into the embedding cache), then
    ``cache.tagging_quality`` fits the classifier on them."""
    from genre.encoders import encode_cached, make_encoder

    store = cache.embedding_cache()

    def work(progress: Callable) -> pd.DataFrame:
        progress(0, 0, f"encoding {tagged.n_items:,} item texts")
        encode_cached(make_encoder(encoder), list(tagged.item_text(fields)), store, progress)
        progress(0, 0, "fitting the genre classifier")
        return cache.tagging_quality(tagged, encoder, fields)

    def install(table: pd.DataFrame) -> str:
        _keep("tagging", dataset, table)
        return "Genre tagging measured (shown on the Encoders & LLM page)."

    return jobs.start("tagging", f"Genre tagging with {encoder}", 1, work, install)  # the encoding is most of it
