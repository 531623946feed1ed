"""Choose the tuned mix's weights on validation and ship them in configs/tuned_mix.yaml.

Run: ``.venv/bin/python bench/ship_weights.py [CONFIG]`` (default configs/tuned_mix.yaml)

GENRE's own tuner (``genre.run.tuning.tune_on_validation``: the config's ``tuning`` section, on the
validation carve of TRAIN — TEST is never read) chooses the weights; they are written into the
config's ``algorithms[*].weight`` with their provenance (command, commit, date, validation score)
in the comment block. The config keeps ``tuning.enabled: true`` so ``python -m genre run`` on it
reproduces the choice; the app's default and the "tuned mix" preset (genre.starter_configs) read the same
file with tuning off, so the shipped weights live in exactly one place.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from genre.config import load_config  # noqa: E402
from genre.run import load_from_config  # noqa: E402
from genre.run.fitting import Fitter, Notes, Reporter  # noqa: E402
from genre.split import split_interactions  # noqa: E402
from genre.run.tuning import tune_on_validation  # noqa: E402

#: The comment lines this script writes (replaced on every run; the rest of the header is kept).
MARK = "# shipped:"


def choose_weights(path: Path) -> tuple[dict[str, float], float, str]:
    """(weights, validation score, metric) from GENRE's tuner on the validation carve only."""
    config = load_config(path)
    dataset = load_from_config(config)
    split = split_interactions(dataset.interactions, dataset.n_users, dataset.n_items, config.split.method,
                               **{"seed": config.seed, **config.split.params})
    fitter = Fitter(dataset, config, None, {}, Reporter(None))
    result, _ = tune_on_validation(fitter, split, Notes(), Reporter(None))
    return result.weights, result.score, result.metric


def ship(path: Path, weights: dict[str, float], score: float, metric: str) -> None:
    """Rewrite ``path``: its own comment header, the provenance lines, the config with ``weights``."""
    text = path.read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#") and not line.startswith(MARK)]
    data = yaml.safe_load(text)
    for algo in data["algorithms"]:
        algo["weight"] = weights[algo["name"]]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    data["tuning"]["enabled"] = True  # the CLI re-derives the weights: the reproduction
    provenance = [
        f"{MARK} weights chosen by `.venv/bin/python bench/ship_weights.py {path.relative_to(ROOT)}`",
        f"{MARK} (genre.run.tuning on the validation carve of TRAIN; TEST never read): validation {metric} "
        f"{score:.4f}, {dt.date.today()}, commit {commit}.",
        f"{MARK} The app's default and the 'tuned mix' preset use these weights with tuning off.",
    ]
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110)
    path.write_text("\n".join(header + provenance) + "\n" + body, encoding="utf-8")


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "configs" / "tuned_mix.yaml"
    weights, score, metric = choose_weights(path.resolve())
    ship(path.resolve(), weights, score, metric)
    print(f"{path}: weights {weights} (validation {metric} {score:.4f})")


if __name__ == "__main__":
    main()
