"""A run's memory, estimated before anything is fitted or encoded, and refused above the budget.

Each algorithm estimates its peak from its parameters and the data's shape
(``Recommender.peak_bytes``), and so does each encoder whose parameters drive memory
(``peak_bytes(n_items)`` on multi-hot and TF-IDF; any other encoder is taken as dense float32
vectors of ``_DENSE_DIMS`` columns). The run's need is the SUM of every estimate: algorithms
are fitted one after another, but every fitted model (EASE's n² weights, kNN's neighbours, the
factors) is kept until the users are scored, and the item vectors are kept throughout, so the
sum bounds "what the run keeps + the largest single fit" from above. The budget is
``genre.memory.run_memory_budget()`` (``GENRE_RUN_MEMORY_MB``, else half the available memory).
"""

from __future__ import annotations

from genre.algorithms import make_algorithm
from genre.config import FeaturesConfig, RunConfig
from genre.encoders.registry import encoder_class, make_encoder
from genre.errors import ConfigError
from genre.memory import budget_source, gigabytes, run_memory_budget

#: Width assumed for an encoder that does not say (sentence models give 384–1024 float32 columns).
_DENSE_DIMS = 1024


def _space(features: FeaturesConfig, where: str, n_items: int) -> tuple[dict[str, tuple[int, str]], int]:
    """Each modality's (bytes, what to lower) and the space's dense width (summed over modalities)."""
    estimates, width = {}, 0
    for i, modality in enumerate(features.modalities):
        name = f"{where}.modalities[{i}]"
        if hasattr(encoder_class(modality.encoder), "peak_bytes"):
            encoder = make_encoder(modality.encoder, **modality.params)  # cheap: no model is loaded
            dims = encoder.dense_width(n_items)
            estimates[f"{name} {modality.encoder}"] = (encoder.peak_bytes(n_items),
                                                       f"lower {name}.params.{encoder.memory_hint}")
        else:
            dims = _DENSE_DIMS
            estimates[f"{name} {modality.encoder}"] = (2 * 4 * n_items * dims, f"use fewer items in {name}")
        width += dims
    return estimates, width


def estimate_run(config: RunConfig, n_users: int, n_items: int, n_interactions: int
                 ) -> dict[str, tuple[int, str]]:
    """Part of the run (an algorithm entry's name, or a modality) → (peak bytes, what to do about it)."""
    estimates, width = _space(config.features, "features", n_items)
    for algo in (a for a in config.algorithms if a.enabled):
        own = width
        if algo.features is not None:
            extra, own = _space(algo.features, f"{algo.name}.features", n_items)
            estimates.update(extra)
        model = make_algorithm(algo.kind, **algo.params)
        for param, constraint in model._parameter_constraints.items():  # as fit would, before any sum
            constraint.check(getattr(model, param), f"{algo.name}.{param}")
        need = int(model.peak_bytes(n_users, n_items, n_interactions, own))
        hint = model.memory_hint
        estimates[algo.name] = (need, f"lower {algo.name}.{hint}" if hint else
                                f"switch {algo.name} off (its memory follows the data's size)")
    return estimates


def check_run_memory(config: RunConfig, n_users: int, n_items: int, n_interactions: int, copies: int = 1,
                     budget: int | None = None) -> dict[str, tuple[int, str]]:
    """``estimate_run``'s parts when ``copies`` times their sum fits ``budget`` (default:
    ``run_memory_budget()``; ``copies`` = 2 while the final fits overlap the tuning fits); else a
    one-line ConfigError naming the largest parts and what to do about the largest."""
    estimates = estimate_run(config, n_users, n_items, n_interactions)
    budget = run_memory_budget() if budget is None else budget
    total = copies * sum(need for need, _ in estimates.values())
    if total <= budget:
        return estimates
    largest = sorted(estimates.items(), key=lambda part: -part[1][0])
    parts = ", ".join(f"{name}: {gigabytes(need)}" for name, (need, _) in largest[:3])
    parts += f"; × {copies}: tuning and the final fits run at once" if copies > 1 else ""
    raise ConfigError(f"this run needs about {gigabytes(total)} ({parts}) but the budget is "
                      f"{gigabytes(budget)} ({budget_source()}); {largest[0][1][1]}, or raise the budget")

