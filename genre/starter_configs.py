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
from typing import Any, Iterable

from genre.config import AlgorithmConfig, DataConfig, RunConfig, SplitConfig, load_config
from genre.errors import ConfigError
from genre.split import share_param

#: The committed configs (relative to the repository root) every session can start from.
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"

#: Preset label → config file in ``CONFIG_DIR``; the first one is the app's default.
PRESETS: dict[str, str] = {
    "tuned mix": "tuned_mix.yaml",
    "collaborative only": "ease.yaml",
    "content only": "content.yaml",
    "cold-start: ContentToCF two-space": "coldstart_two_space.yaml",
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
