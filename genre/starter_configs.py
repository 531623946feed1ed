"""Whole setups to start from: the committed configs behind the Train page's preset picker.

A preset is a config file of ``configs/`` read with its tuning switched off, so its shipped
weights (chosen on validation by committed code, see each file's comments) are used as they
are and training costs one fit per algorithm. The session keeps its own data: a preset brings
the split, features, algorithms, fusion and tuning settings, never a data source.

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

from genre.config import DataConfig, RunConfig, load_config
from genre.errors import ConfigError

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
