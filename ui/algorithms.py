"""What the Train page says about each algorithm, and the hyper-parameters it exposes."""

from __future__ import annotations

import inspect
import math
import re
from typing import Any


#: One line per algorithm, for people who do not know the names.
DESCRIPTIONS = {
    "popularity": "Most interacted items first — the baseline every mix should beat.",
    "item_knn": "Items similar to what the user had, by co-occurrence (cosine).",
    "sequential": "Items others took right around the user's latest ones (time order).",
    "ease": "Linear item-to-item model with a closed-form fit; strong on dense data.",
    "als": "Matrix factorisation (implicit ALS): users and items as latent vectors.",
    "bpr": "Matrix factorisation trained to rank seen items above unseen ones.",
    "content": "Items whose content vectors (Encoders page) resemble the user's history.",
    "genre_pref": "Items from the genres the user watches most.",
    "two_tower": "Neural model: a history encoder against item embeddings (slow on CPU).",
    "transformer_seq": "Neural sequence model (SASRec-style): reads the history in order, predicts what comes "
                       "next; items by id, by their text, or both (minutes on CPU).",
    "content_to_cf": "Maps content into the collaborative space: helps cold-start items.",
    "profile": "Items matching an LLM-written user profile (needs profiles, Encoders page).",
}

#: Parameters shown when an algorithm has no tuning grid.
_FALLBACK = {"two_tower": ("epochs", "dim"), "profile": ("history_weight",)}
#: Parameters shown beside the tuning grid's: what changes the model's nature rather than its fit.
_ALSO = {"transformer_seq": ("item_repr", "refit", "batch_size", "ema_decay", "n_models")}


def unavailable(name: str) -> str | None:
    """Why algorithm ``name`` cannot be used here (its module does not import), or None."""
    from genre.algorithms import algorithm_class

    try:
        algorithm_class(name)
    except ImportError as error:
        return f"not available in this installation ({error})"
    return None


def key_params(name: str) -> dict[str, Any]:
    """The algorithm's key hyper-parameters with their defaults (its tuning grid's, else a few), then
    every limit a message may tell the user to change — what its ``memory_hint`` names and its
    ``max_items`` — so each such limit has a field on the Train page."""
    from genre.algorithms import algorithm_class

    cls = algorithm_class(name)
    signature = inspect.signature(cls.__init__).parameters
    names = list(getattr(cls, "tune_grid", {}) or _FALLBACK.get(name, ())) + list(_ALSO.get(name, ()))
    names += re.findall(r"\w+", getattr(cls, "memory_hint", "") or "") + ["max_items"]
    return {p: signature[p].default for p in dict.fromkeys(names) if p in signature}


def param_input(container: Any, algorithm: str, param: str, default: Any, value: Any) -> Any:
    """The widget for one hyper-parameter, limited to its constraint in ``genre.bounds`` (a select box
    for a ``OneOf``, a number input within a ``Bound``); returns the chosen value.

    ``value`` comes from the session's config (possibly an imported file): a value that is
    not a number, or outside the bounds, must not break the page: the widget then starts from
    the default (not a number) or the nearest bound (out of range).
    """
    from genre.bounds import bounds_for
    from genre.constraints import Bound, OneOf

    key = f"p_{algorithm}_{param}"
    constraint = bounds_for(algorithm, param)
    if isinstance(constraint, OneOf):
        options = list(constraint.choices)
        return container.selectbox(param, options, index=options.index(value) if value in options else 0, key=key)
    bound = constraint if isinstance(constraint, Bound) else None
    integer = bound.kind is int if bound else isinstance(default, int) and not isinstance(default, bool)
    low, high = (bound.low, bound.high) if bound else (0, None)
    if bound and not integer:  # widget limits are inclusive: step inside an open end
        low = math.nextafter(low, math.inf) if bound.low_open else low
        high = math.nextafter(high, -math.inf) if bound.high_open else high
    start = next((n for n in (_number(value, integer), _number(default, integer)) if n is not None), low)
    start = max(start, low) if high is None else min(max(start, low), high)
    tip = f"{bound.describe().capitalize()}." if bound else None
    if integer:
        return int(container.number_input(param, int(low), None if high is None else int(high), int(start),
                                          help=tip, key=key))
    return float(container.number_input(param, float(low), None if high is None else float(high), float(start),
                                        format="%g", help=tip, key=key))


def _number(value: Any, integer: bool) -> int | float | None:
    """``value`` as a finite int/float, or None when it is not one (text, NaN, None…)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(number) if integer else number
