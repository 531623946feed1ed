"""Encoders by name, as configs and the app refer to them."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from genre.encoders.base import Encoder
from genre.errors import ConfigError

#: name → (module, class, what each input is: "text", "categories", "image" or "item_id").
#: Modules are imported on first use, so naming an encoder costs nothing.
_REGISTRY: dict[str, tuple[str, str, str]] = {
    "minilm": ("sentence", "SentenceTransformerEncoder", "text"),
    "sentence-transformers": ("sentence", "SentenceTransformerEncoder", "text"),
    "minilm-adapted": ("adapted", "AdaptedTextEncoder", "text"),
    "transformers": ("hf_pooling", "TransformersEncoder", "text"),
    "use-multilingual": ("multilingual", "MultilingualUSEEncoder", "text"),
    "openai-embeddings": ("openai_embeddings", "OpenAIEmbeddingsEncoder", "text"),
    "tfidf": ("tfidf", "TfidfEncoder", "text"),
    "multi-hot": ("categorical", "MultiHotEncoder", "categories"),
    "image": ("image", "ImageEncoder", "image"),
    "precomputed": ("precomputed", "PrecomputedEncoder", "item_id"),
}

#: Parameters an encoder name fixes (``minilm`` is the packaged model, nothing else).
_FIXED = {"minilm": ("model",)}

#: Default shown by ``encoder_params`` for a parameter that must be given.
REQUIRED = "<required>"

#: Valid encoder names; ``"minilm"`` is the default.
ENCODER_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def _check_name(name: str) -> None:
    if name not in _REGISTRY:
        raise ConfigError(f"unknown encoder {name!r}; valid encoders: {', '.join(ENCODER_NAMES)}")


def input_kind(name: str) -> str:
    """What the encoder ``name`` consumes: ``text``, ``categories``, ``image`` or ``item_id``."""
    _check_name(name)
    return _REGISTRY[name][2]


def needs_interactions(name: str) -> bool:
    """Whether the encoder ``name`` learns from the training interactions (``minilm-adapted``)."""
    return bool(getattr(encoder_class(name), "needs_interactions", False))


def encoder_class(name: str) -> type:
    """The class behind ``name`` (imports its module)."""
    _check_name(name)
    module, cls, _ = _REGISTRY[name]
    return getattr(importlib.import_module(f"genre.encoders.{module}"), cls)


def encoder_params(name: str) -> dict[str, Any]:
    """The parameters ``make_encoder(name, ...)`` accepts and their defaults (``REQUIRED`` if none)."""
    signature = inspect.signature(encoder_class(name))
    return {p.name: (REQUIRED if p.default is inspect.Parameter.empty else p.default)
            for p in signature.parameters.values() if p.name not in _FIXED.get(name, ())}


def make_encoder(name: str = "minilm", **params: Any) -> Encoder:
    """Build the encoder ``name`` with keyword ``params``, each checked against the class's
    ``_parameter_constraints`` (and normalised, e.g. ``ngram_range: [1, 2]`` → ``(1, 2)``).

    Encoders share no base class, so this is their one entry point that every caller (a config,
    the app, the Python API) passes through: the check lives here.

    Raises
    ------
    ConfigError
        Unknown name or parameter (the message lists the valid ones), or a value out of bounds.
    EncoderError
        The model cannot be found or loaded (e.g. a hub name while offline).

    Examples
    --------
    >>> make_encoder("tfidf", ngram_range=(1, 1)).cacheable
    False
    """
    valid = encoder_params(name)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        hint = " ('minilm' is the packaged model: use 'sentence-transformers' with model=)" \
            if name in _FIXED and set(unknown) & set(_FIXED[name]) else ""
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)} for encoder {name!r}{hint}; "
                          f"valid: {', '.join(valid) or '(none)'}")
    missing = [p for p, default in valid.items() if default is REQUIRED and p not in params]
    if missing:
        raise ConfigError(f"encoder {name!r} needs parameter(s) {', '.join(missing)}")
    cls = encoder_class(name)
    checked = {param: cls._parameter_constraints[param].check(value, f"{name}.{param}")
               for param, value in params.items()}
    return cls(**checked)
