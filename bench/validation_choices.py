"""Which value the validation carve chooses for each hyper-parameter a committed config fixes.

Run: ``.venv/bin/python bench/validation_choices.py [--configs sequential bpr two_tower] [--render-only]``

Issue 14 asks that every hyper-parameter a committed config uses is either chosen on the
validation carve by committed code or documented as a fixed default. For the algorithms whose
parameters the configs fix (sequential's window / last / decay, BPR's and two-tower's learning
rates), this runs each config with ``tuning.hyperparameters`` on: ``genre.run.tuning`` fits every value
of the algorithm's ``tune_grid`` on TRAIN_SUB and scores it on the validation users (one
parameter at a time, in the grid's order; TEST is never read for the choice). The JSON records
the validation curve, the value validation chooses and the value the config ships, so a config
comment can say which it is. Writes bench/validation_choices.json and its RESULTS.md section
(rendered from the JSON only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import provenance, write_section  # noqa: E402

RESULTS_JSON = ROOT / "bench" / "validation_choices.json"
CONFIGS = ("sequential", "bpr", "two_tower")


def choose(name: str) -> list[dict]:
    """Tune ``configs/<name>.yaml``'s algorithm's grid on validation; one row per parameter."""
    from genre.algorithms import algorithm_class
    from genre.config import load_config
    from genre.run import Experiment

    config = load_config(ROOT / "configs" / f"{name}.yaml")
    shipped = {a.name: dict(a.params) for a in config.algorithms}
    config.tuning.enabled, config.tuning.hyperparameters, config.tuning.weights = True, True, False
    trained = Experiment(config).train()
    rows = []
    for key, curve in trained.parameter_curves_.items():
        algo, param = key.split(".", 1)
        default = algorithm_class(config.algorithm(algo).kind)().get_params()[param]
        metric = config.tuning.metric
        rows.append({"config": name, "algorithm": algo, "parameter": param,
                     "values": [v.item() if hasattr(v, "item") else v for v in curve[param]],
                     "validation": [float(v) for v in curve[metric]], "metric": metric,
                     "chosen": trained.config.algorithm(algo).params[param],
                     "shipped": shipped[algo].get(param, default)})
    return rows


def render(results: dict) -> str:
    lines = [f"Command: `{' '.join(results['argv'])}` (commit `{results['commit'][:10]}`, {results['date']}, load "
             f"average {results['load_average']:.1f}). Each config with `tuning.hyperparameters` on: every value of "
             "the algorithm's grid fitted on TRAIN_SUB and scored on the validation users (one parameter at a time, "
             "in order, the earlier ones at their chosen values); TEST never read for the choice.", "",
             "| config | parameter | validation metric per value | validation chooses | the config ships |",
             "|---|---|---|---|---|"]
    for row in results["rows"]:
        curve = ", ".join(f"{v:g}: {m:.4f}" for v, m in zip(row["values"], row["validation"]))
        lines.append(f"| {row['config']} | {row['algorithm']}.{row['parameter']} | {row['metric']} — {curve} | "
                     f"{row['chosen']:g} | {row['shipped']:g}{'' if row['chosen'] == row['shipped'] else ' (differs)'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    if not args.render_only:
        record = provenance(ROOT, {n: ROOT / "sample_data" / n for n in ("ratings.csv", "movies.csv")}, sys.argv)
        rows = [row for name in args.configs for row in choose(name)]
        RESULTS_JSON.write_text(json.dumps({**record, "rows": rows}, indent=1) + "\n", encoding="utf-8")
    write_section(ROOT / "bench" / "RESULTS.md", "validation-choices",
                  "Hyper-parameters the configs fix: what validation would choose",
                  render(json.loads(RESULTS_JSON.read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main()
