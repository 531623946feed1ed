"""The sequential transformer reading items through MiniLM adapted to behaviour: does it beat id items on VAL?

Run: ``nice -n 0 .venv/bin/python bench/transformer_adapted.py [--threads 2]``

bench/tune_transformer.py chose id items (VAL NDCG@10 0.1465) over id + a map of the FROZEN MiniLM
(0.1410). This script offers one more candidate on the same validation protocol: ``item_repr both``
with the content part from ``minilm-adapted`` (configs/adapted_content.yaml's encoder parameters, trained
on each fit's own training interactions), every other parameter as tune_transformer chose. It is fitted on
TRAIN_SUB and scored on VAL; TEST is read once, only if it beats the chosen VAL figure. Writes
``bench/transformer_adapted.json`` (argv, commit, date, load average, input hashes) and a RESULTS.md section.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import provenance, provenance_line, write_section  # noqa: E402
from bench.tune_transformer import OUT as TUNE_JSON  # noqa: E402
from bench.tune_transformer import RESULTS_MD, RUN, fit_and_score, same  # noqa: E402
from genre.config import RunConfig  # noqa: E402
from genre.run import load_from_config  # noqa: E402
from genre.run.fitting import Fitter, Reporter  # noqa: E402
from genre.split import split_interactions, validation_split  # noqa: E402

OUT = ROOT / "bench" / "transformer_adapted.json"
ADAPTED = {"name": "text", "fields": ["title", "genres"], "encoder": "minilm-adapted",
           "params": {"popularity_correction": True, "lr": 0.0003, "budget_s": 240.0}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    tuned = json.loads(TUNE_JSON.read_text())
    chosen = {k: v for k, v in tuned["chosen"].items() if k not in ("refit",)}
    best_val = max(t["ndcg@10"] for t in tuned["trials"] if same(t["params"], chosen))
    record = {**provenance(ROOT, {n: ROOT / "sample_data" / n for n in ("ratings.csv", "movies.csv")}, sys.argv),
              "modality": ADAPTED, "chosen_val_ndcg@10": best_val}
    config = RunConfig.from_dict({**RUN, "features": {"modalities": [ADAPTED]}})
    dataset = load_from_config(config)
    split = split_interactions(dataset.interactions, dataset.n_users, dataset.n_items, "temporal", seed=config.seed)
    val = validation_split(split, "temporal", seed=config.seed)
    fitter = Fitter(dataset, config, None, {}, Reporter(None))
    params = {**chosen, "item_repr": "both", "threads": args.threads}
    began = time.perf_counter()
    record["validation"] = fit_and_score(params, val, fitter.features(val))
    record["validation"]["with_features_s"] = time.perf_counter() - began
    print(record["validation"], file=sys.stderr, flush=True)
    OUT.write_text(json.dumps(record, indent=1, default=float) + "\n")
    if record["validation"]["ndcg@10"] > best_val:
        record["test"] = fit_and_score(params, split, fitter.features(split))
        print(record["test"], file=sys.stderr, flush=True)
        OUT.write_text(json.dumps(record, indent=1, default=float) + "\n")
    test = record.get("test")
    write_section(RESULTS_MD, "transformer_adapted", "Sequential transformer on adapted item text", "\n".join([
        provenance_line(record), "",
        "| candidate | VAL NDCG@10 | TEST NDCG@10 |", "|---|---|---|",
        f"| chosen by bench/tune_transformer.py (id items) | {best_val:.4f} | (see above) |",
        f"| id + a map of MiniLM adapted to behaviour (`item_repr both`) | {record['validation']['ndcg@10']:.4f} | "
        + (f"{test['ndcg@10']:.4f} |" if test else "not read: it did not beat the chosen one on VAL |")]))


if __name__ == "__main__":
    main()
