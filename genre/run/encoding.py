"""Turn a dataset, a training frame and the features config into ``Features``.

Held-out interactions matter here: a tag a user applied to one of their own held-out items
reveals that interaction (docs/benchmark.md), so tag text is rebuilt without them for each fit.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from genre.algorithms.base import Progress
from genre.config import FeaturesConfig
from genre.data import Dataset, interaction_matrix
from genre.data.tags import item_tag_text
from genre.encoders import EmbeddingCache, Modality, build_item_vectors, encode_cached, make_encoder
from genre.errors import DataError
from genre.features import Features
from genre.llm import load_enrichment, with_enrichment
from genre.paths import refuse_url

log = logging.getLogger("genre")


def build_features(dataset: Dataset, train: pd.DataFrame, heldout: pd.DataFrame | None,
                   config: FeaturesConfig, *, cache_dir: str | Path | None = None,
                   progress: Progress | None = None,
                   spaces: dict[str, FeaturesConfig] | None = None) -> tuple[Features, dict]:
    """Features for fitting on ``train`` while ``heldout`` stays unseen; also a report dict.

    ``spaces`` maps an algorithm entry's name to its own features config
    (``AlgorithmConfig.features``): each distinct space is built once, even when several
    entries (or the run itself) share it, and lands in ``Features.spaces``.
    """
    built: dict[str, tuple[object, dict]] = {}

    def space(part: FeaturesConfig) -> tuple[object, dict]:
        key = repr((part.modalities, part.enrichment))  # what the item vectors depend on
        if key not in built:
            built[key] = encode_items(dataset, heldout, part, cache_dir, progress, train=train)
        return built[key]

    item_vectors, report = space(config)
    own = {name: space(part)[0] for name, part in (spaces or {}).items()}
    genres, genre_names = dataset.genre_matrix()
    features = Features(
        item_vectors=item_vectors,
        item_genres=genres if genre_names else None,
        genre_names=genre_names,
        interaction_times=interaction_matrix(train, dataset.n_users, dataset.n_items, "timestamp"),
        interaction_ratings=interaction_matrix(train, dataset.n_users, dataset.n_items, "rating"),
        spaces={name: vectors for name, vectors in own.items() if vectors is not None},
    )
    return features, report


def encode_items(dataset: Dataset, heldout: pd.DataFrame | None, config: FeaturesConfig,
                 cache_dir: str | Path | None, progress: Progress | None, *,
                 train: pd.DataFrame | None = None) -> tuple[object, dict]:
    """One item-vector space (None without modalities) and its encoding report.

    ``train`` is this fit's training frame: encoders that learn from interactions
    (``minilm-adapted``) see it and nothing else, so TEST (or a tuning run's VAL) stays unseen.
    """
    if not config.modalities:
        return None, {}
    cache = EmbeddingCache(cache_dir or None)
    dataset = with_enrichment_file(dataset, config.enrichment)
    overrides = {"tags": item_tag_text(dataset, exclude=heldout)} if dataset.tags is not None else None
    modalities = [Modality(name=m.name, fields=list(m.fields), encoder=m.encoder,
                           params=dict(m.params), weight=m.weight) for m in config.modalities]
    built = build_item_vectors(dataset, modalities, cache=cache, progress=progress,
                               item_text_override=overrides, interactions=train)
    return built.vectors, built.report


def profile_features(dataset: Dataset, features: Features, config: FeaturesConfig, *,
                     cache_dir: str | Path | None = None) -> Features:
    """Features for the ``profile`` recommender: item texts and user profiles in ONE space.

    Profiles (an LLM-written CSV ``user,text``) and item texts (title | genres) are both
    embedded with ``config.profile_encoder``; users without a profile fall back to their
    history inside the recommender.
    """
    if not config.profiles:
        raise DataError("the profile recommender needs user profiles: generate them on the "
                        "Encoders & LLM page (or with genre.llm.profile_users) and set "
                        "features.profiles to the CSV")
    cache = EmbeddingCache(cache_dir or None)
    encoder = make_encoder(config.profile_encoder)
    items = encode_cached(encoder, dataset.item_text(("title", "genres")), cache)
    return replace(features, item_vectors=items, user_vectors=user_profile_vectors(dataset, config, cache))


def with_enrichment_file(dataset: Dataset, path: str | None) -> Dataset:
    """The dataset with an LLM enrichment CSV merged in as the item field ``llm_text``."""
    if not path:
        return dataset
    with _open_local(path, "features.enrichment", "the enrichment file") as handle:
        frame = load_enrichment(handle)
    return with_enrichment(dataset, frame, field="llm_text")


def _open_local(path: str, what: str, label: str) -> TextIO:
    """``path`` opened as UTF-8 text; a URL is refused (pandas would fetch it), a missing file is
    a DataError. Handing pandas an open file means it can only ever read this file."""
    refuse_url(path, what=what)
    try:
        return open(path, encoding="utf-8", newline="")
    except OSError as error:
        raise DataError(f"cannot read {label} {path}: {error.strerror or error}") from None


def user_profile_vectors(dataset: Dataset, config: FeaturesConfig, cache) -> np.ndarray:
    """Embed LLM-written user profiles (CSV user,text) in the profile encoder's space."""
    try:
        with _open_local(config.profiles, "features.profiles", "user profiles") as handle:
            frame = pd.read_csv(handle, dtype={"user": str})
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read user profiles {config.profiles}: {error}") from None
    if not {"user", "text"} <= set(frame.columns):
        raise DataError(f"{config.profiles}: needs columns user,text; it has {', '.join(frame.columns)}")
    known = pd.Index(dataset.user_ids.astype(str))
    rows = known.get_indexer(frame["user"].astype(str))
    if (rows < 0).any():
        log.warning("%d profile rows name unknown users and are ignored", int((rows < 0).sum()))
    encoder = make_encoder(config.profile_encoder)
    vectors = encode_cached(encoder, frame["text"].fillna("").astype(str).tolist(), cache)
    users = np.zeros((dataset.n_users, vectors.shape[1]), dtype=np.float32)
    users[rows[rows >= 0]] = vectors[rows >= 0]
    return users
