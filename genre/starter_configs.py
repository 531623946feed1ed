"""Whole setups to start from, and the rules that turn a setup into the next training's config.

A preset is a config file of ``configs/`` read with its tuning switched off, so its shipped
weights (chosen on validation by committed code, see each file's comments) are used as they
are and training costs one fit per algorithm. The session keeps its own data: a preset brings
the split, features, algorithms, fusion and tuning settings, never a data source.

The weights a setup holds are starting weights: once trained, the live mix belongs to the
``TrainedRun`` (``genre.run.trained``), and a setup that differs from the one trained only in
weights or tuning needs no refit (``needs_retraining``).

Examples
--------
>>> list(PRESETS)[0]
'tuned mix'
>>> config = load_preset("tuned mix")
>>> config.tuning.enabled, len(config.algorithms) > 1
(False, True)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from genre.algorithms import make_algorithm
from genre.config import AlgorithmConfig, DataConfig, FeaturesConfig, RunConfig, SplitConfig, load_config
from genre.encoders.registry import encoder_class, make_encoder
from genre.errors import ConfigError, GenreError
from genre.memory import budget_source, gigabytes, run_memory_budget
from genre.split import share_param

if TYPE_CHECKING:
    from genre.data import Dataset

#: The committed configs (relative to the repository root) every session can start from.
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"

#: Preset label → config file in ``CONFIG_DIR``; the first one is the app's default.
PRESETS: dict[str, str] = {
    "tuned mix": "tuned_mix.yaml",
    "collaborative only": "ease.yaml",
    "content only": "content.yaml",
    "cold-start: best (ContentToCF two-space)": "coldstart_best.yaml",
}
DEFAULT_PRESET = "tuned mix"


def load_preset(name: str, data: DataConfig | None = None) -> RunConfig:
    """The preset's config with tuning off (its shipped weights as they are), on ``data``.

    Raises
    ------
    ConfigError
        An unknown preset name (the message lists the valid ones).
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return adopt_setup(load_config(CONFIG_DIR / PRESETS[name]), data or DataConfig())


def adopt_setup(config: RunConfig, data: DataConfig, name: str = "session") -> RunConfig:
    """``config``'s whole setup on ``data`` with its weights as they are (tuning off), as a copy:
    what loading a preset or a saved run means."""
    copy = config.copy()
    copy.tuning.enabled = False
    return dataclasses.replace(copy, name=name, data=dataclasses.replace(data))


def joining_weight(algorithms: Iterable[AlgorithmConfig]) -> float:
    """The weight an algorithm switched on starts at: the average of the enabled ones (1.0 when
    none), so it joins a preset whose weights sum to about 1 as an average partner, not at 1.0."""
    weights = [a.weight for a in algorithms if a.enabled]
    return sum(weights) / len(weights) if weights else 1.0


def switched_on(setup: RunConfig, name: str, params: dict[str, Any]) -> AlgorithmConfig:
    """Algorithm entry ``name`` switched on with ``params``: ``setup``'s entry (its weight and item
    vectors kept), else a newcomer at ``joining_weight`` of ``setup``'s algorithms."""
    entry = next((a for a in setup.algorithms if a.name == name), None)
    if entry is None:
        return AlgorithmConfig(name, dict(params), joining_weight(setup.algorithms), True)
    return dataclasses.replace(entry, params=dict(params), enabled=True)


def training_setup(setup: RunConfig, *, split_method: str, share: float, algorithms: list[AlgorithmConfig],
                   normalization: str, tune: bool, live_weights: dict[str, float] | None = None) -> RunConfig:
    """A validated copy of ``setup`` with a training form's choices: the hold-out and its held-out
    share (ignored by leave-last-out), the algorithms switched on, in order, the score normalization
    and whether to tune while training. ``live_weights`` (``weights_to_carry``) start the named
    algorithms from the mix the last trained run ended on.

    Raises
    ------
    ConfigError
        Nothing switched on, or a choice the config rejects (the message names it).
    """
    if not algorithms:
        raise ConfigError("switch on at least one algorithm")
    param = share_param(split_method)
    chosen = dataclasses.replace(setup, split=SplitConfig(split_method, {} if param is None else {param: share}),
                                 algorithms=[dataclasses.replace(a, weight=(live_weights or {}).get(a.name, a.weight))
                                             for a in algorithms],
                                 fusion=dataclasses.replace(setup.fusion, normalization=normalization),
                                 tuning=dataclasses.replace(setup.tuning, enabled=tune))
    return chosen.copy()


def weights_to_carry(setup: RunConfig, trained_from: RunConfig | None, live: dict[str, float]) -> dict[str, float]:
    """The trained run's live weights (moved by hand or by Auto-tune) for the next fit to start from,
    unless a setup loaded since training brought weights of its own (then none)."""
    def weights(config: RunConfig) -> dict[str, float]:
        return {a.name: a.weight for a in config.algorithms}

    return dict(live) if trained_from is not None and weights(setup) == weights(trained_from) else {}


def needs_retraining(setup: RunConfig, trained_from: RunConfig) -> bool:
    """True when ``setup`` differs from the config a run was trained from in more than its name, mix
    weights and tuning switch: those a trained run re-mixes or re-tunes without refitting."""
    def fitted(config: RunConfig) -> dict[str, Any]:
        data = config.to_dict()
        del data["name"], data["tuning"]
        for algo in data["algorithms"]:
            del algo["weight"]
        return data

    return fitted(setup) != fitted(trained_from)


#: Width assumed for item vectors of an encoder that does not say (as ``genre.run.budget`` assumes).
_DENSE_DIMS = 1024


def fit_to_data(config: RunConfig, dataset: "Dataset", budget: int | None = None) -> tuple[RunConfig, list[str]]:
    """A copy of ``config`` with every enabled algorithm the data would take past a hard limit switched
    off, and one line per algorithm left out, starting with its name, saying why and how to include it anyway.

    Why: a preset fitted as it is on data beyond one of its algorithms' limits fails only when that
    algorithm's turn comes, after the others were fitted. Limits: an algorithm's ``max_items`` (EASE's
    dense item × item matrices), then the run's memory budget (``genre.memory``, default
    ``run_memory_budget()``): the algorithms with the largest ``peak_bytes`` are left out until the rest
    fit it together (the run core refuses a run whose sum is over it), always keeping one.
    """
    fitted, notes, needs = config.copy(), [], {}
    shape = (dataset.n_users, dataset.n_items, dataset.n_interactions)
    source = f" ({budget_source()})" if budget is None else ""
    budget = run_memory_budget() if budget is None else budget
    for algo in (a for a in fitted.algorithms if a.enabled):
        try:
            model = make_algorithm(algo.kind, **algo.params)
            need = int(model.peak_bytes(*shape, _width(algo.features or fitted.features, shape[1])))
        except (ImportError, GenreError, TypeError, ValueError):
            continue  # unavailable or a bad parameter: the Train page and the run core say why
        limit = getattr(model, "max_items", None)
        if isinstance(limit, int) and shape[1] > limit:
            algo.enabled = False
            notes.append(_over_max_items(algo.name, model, shape[1], limit, need, budget))
        else:
            needs[algo.name] = (need, model.memory_hint)
    while len(needs) > 1 and sum(need for need, _ in needs.values()) > budget:  # one is kept: the run says why
        name = max(needs, key=lambda n: needs[n][0])
        need, hint = needs.pop(name)
        next(a for a in fitted.algorithms if a.name == name).enabled = False
        how = f"switch it on on the Train page and lower its {hint}" if hint else "ask for a larger memory budget"
        notes.append(f"{name} left out: it needs about {gigabytes(need)} here, over the run's memory budget of "
                     f"{gigabytes(budget)}{source} with the others; to include it anyway, {how}.")
    return fitted, notes


def _over_max_items(name: str, model: Any, n_items: int, limit: int, need: int, budget: int) -> str:
    """The note for an algorithm left out because the catalog exceeds its ``max_items``."""
    ceiling = getattr(model._parameter_constraints.get("max_items"), "high", None)
    why = (f"{name} left out: the data has {n_items:,} items, above its max_items of {limit:,} (it keeps "
           f"dense item × item matrices: about {gigabytes(need)} here)")
    if ceiling is not None and n_items > ceiling:
        return f"{why}; it takes at most {int(ceiling):,} items, so use item_knn or als, which stay sparse."
    if need > budget:
        return f"{why}, more than the run's memory budget of {gigabytes(budget)}: use item_knn or als instead."
    return f"{why}. To include it anyway, switch it on on the Train page and raise max_items to {n_items:,}."


def _width(features: FeaturesConfig, n_items: int) -> int:
    """The dense width of a space's item vectors (summed over its modalities), as the run core takes it."""
    width = 0
    for modality in features.modalities:
        if hasattr(encoder_class(modality.encoder), "dense_width"):
            width += make_encoder(modality.encoder, **modality.params).dense_width(n_items)  # cheap: no model loaded
        else:
            width += _DENSE_DIMS
    return width
